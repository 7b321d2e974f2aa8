import { useEffect, useMemo, useRef, useState } from 'react';
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses } from 'ai';
import { authHeaders, problem, stopTurn } from './api.js';
import { messages as catalogue } from './i18n.js';
import { Message, latestBookings } from './parts.jsx';

/** One conversation: useChat over our /v1/chat. The conversation id is useChat's chat id. */
export function Chat({ apiUrl, chatId, initialMessages, apiKey, lang, onUnauthorized }) {
  const t = catalogue(lang);
  const transport = useMemo(
    () =>
      new DefaultChatTransport({
        api: `${apiUrl}/v1/chat`,
        headers: authHeaders(apiKey),
        // After a reload useChat asks this URL for the reply still running (204: none).
        // It is the transport's default too; spelled out because it is our endpoint.
        prepareReconnectToStreamRequest: ({ id, headers }) => ({
          api: `${apiUrl}/v1/chat/${encodeURIComponent(id)}/stream`,
          headers,
        }),
      }),
    [apiUrl, apiKey],
  );
  const { messages, sendMessage, status, error, clearError, stop, addToolApprovalResponse } =
    useChat({
      id: chatId,
      messages: initialMessages,
      transport,
      resume: true,
      // An approval (addToolApprovalResponse) goes to the server at once; the same assistant
      // message continues with the tool's result.
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    });
  const [input, setInput] = useState('');
  const busy = status === 'submitted' || status === 'streaming';
  const failure = error ? problem(error) : null;
  const bookings = useMemo(() => latestBookings(messages), [messages]);
  const endRef = useRef(null);

  useEffect(() => {
    if (failure?.status === 401 || failure?.code === 'unauthorized') onUnauthorized();
  }, [failure, onUnauthorized]);

  useEffect(() => {
    endRef.current?.scrollIntoView?.({ block: 'end' });
  }, [messages]);

  const submit = event => {
    event.preventDefault();
    const text = input.trim();
    if (!text || busy) return;
    if (error) clearError();
    sendMessage({ text });
    setInput('');
  };

  const stopReply = async () => {
    // The turn runs on the server: ask it to stop (its stream then ends with `abort`).
    try {
      await stopTurn(apiUrl, chatId, apiKey);
    } catch {
      stop();
    }
  };

  return (
    <main>
      <section className="log" role="log" aria-live="polite" aria-label={t.title}>
        {messages.map((message, index) => (
          <Message
            key={message.id}
            message={message}
            t={t}
            lang={lang}
            bookings={bookings}
            live={index === messages.length - 1}
            onDecide={(id, approved) => addToolApprovalResponse({ id, approved })}
          />
        ))}
        {status === 'submitted' && (
          <p className="muted thinking" role="status">
            {t.thinking}
          </p>
        )}
        <div ref={endRef} />
      </section>
      {error && (
        <div className="error" role="alert">
          <p>
            {t.error}: {failure?.detail ?? failure?.title ?? error.message}
          </p>
          <button type="button" className="ghost" onClick={clearError}>
            {t.dismiss}
          </button>
        </div>
      )}
      <form className="composer" onSubmit={submit}>
        <label htmlFor="message" className="visually-hidden">
          {t.message}
        </label>
        <textarea
          id="message"
          rows={2}
          value={input}
          placeholder={t.placeholder}
          onChange={event => setInput(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Enter' && !event.shiftKey) submit(event);
          }}
        />
        {busy ? (
          <button type="button" onClick={stopReply}>
            {t.stop}
          </button>
        ) : (
          <button type="submit" disabled={!input.trim()}>
            {t.send}
          </button>
        )}
      </form>
    </main>
  );
}
