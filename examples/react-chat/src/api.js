/** The few plain HTTP calls the chat needs besides useChat's own: the stored history (the
 * server keeps every conversation) and stop (a turn belongs to the server, so closing the
 * stream alone would not stop it). */
export function authHeaders(apiKey) {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/** A problem document (`application/problem+json`) from an error's text, if it is one.
 * useChat's error.message is the failed response's body. */
export function problem(error) {
  try {
    const body = JSON.parse(error?.message ?? '');
    return body && typeof body === 'object' && body.code ? body : null;
  } catch {
    return null;
  }
}

export class HttpError extends Error {
  constructor(status, body) {
    super(body?.detail ?? body?.title ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** The conversation's messages as UI messages ([] for a conversation the server has not seen). */
export async function loadMessages(apiUrl, chatId, apiKey) {
  const response = await fetch(`${apiUrl}/v1/conversations/${encodeURIComponent(chatId)}`, {
    headers: authHeaders(apiKey),
  });
  if (response.status === 404) return [];
  if (!response.ok) throw new HttpError(response.status, await response.json().catch(() => null));
  return (await response.json()).messages;
}

export async function stopTurn(apiUrl, chatId, apiKey) {
  await fetch(`${apiUrl}/v1/conversations/${encodeURIComponent(chatId)}/stop`, {
    method: 'POST',
    headers: authHeaders(apiKey),
  });
}
