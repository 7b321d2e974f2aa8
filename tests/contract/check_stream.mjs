#!/usr/bin/env node
// Contract client for our chat streaming API.
//
// Reads a Vercel AI SDK "UI message stream" (SSE) either from an HTTP endpoint
// or from a file, and parses it with the `ai` package's own machinery, the
// same path `useChat` / `DefaultChatTransport` takes:
//   parseJsonEventStream({ stream, schema: uiMessageChunkSchema })  (SSE + JSON + zod)
//   readUIMessageStream({ stream, message })                         (chunk -> UIMessage)
// Every chunk is validated by the official schema; ordering errors (e.g. a
// text-delta without text-start) are raised by the official processor.
//
// Besides the official checks it enforces our framing contract: one `start`
// first, a terminal `finish`/`abort`/`error` chunk, then `data: [DONE]` as the
// last event, every event closed by a blank line, HTTP 2xx with
// content-type text/event-stream and x-vercel-ai-ui-message-stream: v1.
//
// Prints ONE JSON line on stdout:
//   {id, role, parts, metadata, chunks, errors, finishReason, errorChunks,
//    done, status}
// and exits 0 when the stream honours the contract, 1 when it does not,
// 2 on a usage error. See --help and docs/ui-message-stream.md.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  parseJsonEventStream,
  readUIMessageStream,
  uiMessageChunkSchema,
} from 'ai';

const USAGE = `usage:
  node tests/contract/check_stream.mjs --url URL [--method POST|GET]
       [--header "name: value"]... [--headers '{"name":"value"}']
       [--body JSON] [--timeout-ms N] [--no-continue]
  node tests/contract/check_stream.mjs --file PATH [--chunk-size N]
       [--body JSON] [--no-continue]

  --url URL          fetch the stream (POST by default, like DefaultChatTransport;
                     content-type: application/json is sent unless overridden)
  --method M         POST (default) or GET (resume endpoint: 204 = nothing to resume)
  --header H         extra request header "name: value" (repeatable)
  --headers JSON     extra request headers as a JSON object
  --body JSON        request body {id, messages, trigger, messageId?}; with --file
                     it is only used to pick the message being continued
  --file PATH        read the raw SSE body from PATH instead of fetching
                     (no HTTP status/header checks)
  --chunk-size N     with --file: feed the body in N-byte pieces (tests framing)
  --no-continue      start from an empty assistant message even when the body's
                     last/target message is an assistant message
  --timeout-ms N     abort the request after N ms (default 30000)

exit: 0 contract honoured, 1 contract violated, 2 usage error`;

function usage(message) {
  if (message) process.stderr.write(`check_stream: ${message}\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      url: { type: 'string' },
      file: { type: 'string' },
      method: { type: 'string', default: 'POST' },
      header: { type: 'string', multiple: true, default: [] },
      headers: { type: 'string' },
      body: { type: 'string' },
      'chunk-size': { type: 'string' },
      'no-continue': { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '30000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (error) {
  usage(error.message);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if ((args.url == null) === (args.file == null)) {
  usage('give exactly one of --url and --file');
}
const method = args.method.toUpperCase();
if (method !== 'POST' && method !== 'GET') usage(`unsupported --method ${args.method}`);

let requestBody;
if (args.body != null) {
  try {
    requestBody = JSON.parse(args.body);
  } catch (error) {
    usage(`--body is not valid JSON: ${error.message}`);
  }
}

const requestHeaders = { 'content-type': 'application/json' };
if (method === 'GET') delete requestHeaders['content-type'];
if (args.headers != null) {
  let parsed;
  try {
    parsed = JSON.parse(args.headers);
  } catch (error) {
    usage(`--headers is not valid JSON: ${error.message}`);
  }
  if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    usage('--headers must be a JSON object');
  }
  for (const [name, value] of Object.entries(parsed)) {
    requestHeaders[name.toLowerCase()] = String(value);
  }
}
for (const header of args.header) {
  const colon = header.indexOf(':');
  if (colon <= 0) usage(`--header must look like "name: value", got ${JSON.stringify(header)}`);
  requestHeaders[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
}

const timeoutMs = Number(args['timeout-ms']);
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) usage('--timeout-ms must be a positive number');
let chunkSize;
if (args['chunk-size'] != null) {
  chunkSize = Number(args['chunk-size']);
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) usage('--chunk-size must be a positive integer');
}

const errors = [];
const addError = (kind, message, extra = {}) => errors.push({ kind, message, ...extra });

function errorMessage(error) {
  if (error == null) return String(error);
  return error.message ?? String(error);
}

// The message useChat would continue (chat.ts makeRequestImpl): for
// submit-message with a messageId, the message with that id, else the last
// message; only an assistant message is continued; regenerate starts empty.
function messageToContinue(body) {
  if (args['no-continue'] || body == null || !Array.isArray(body.messages)) return undefined;
  if (body.trigger === 'regenerate-message') return undefined;
  const messages = body.messages;
  let target = messages[messages.length - 1];
  if (body.trigger === 'submit-message' && body.messageId != null) {
    target = messages.find(message => message?.id === body.messageId) ?? target;
  }
  return target?.role === 'assistant' ? structuredClone(target) : undefined;
}

async function openBody() {
  if (args.file != null) {
    const bytes = new Uint8Array(await readFile(args.file));
    const size = chunkSize ?? Math.max(bytes.length, 1);
    let offset = 0;
    return {
      status: null,
      stream: new ReadableStream({
        pull(controller) {
          if (offset >= bytes.length) {
            controller.close();
            return;
          }
          controller.enqueue(bytes.slice(offset, offset + size));
          offset += size;
        },
      }),
    };
  }

  let response;
  try {
    response = await fetch(args.url, {
      method,
      headers: requestHeaders,
      body: method === 'POST' ? (args.body ?? '{}') : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    addError('http', `request failed: ${errorMessage(error)}${error?.cause ? ` (${errorMessage(error.cause)})` : ''}`);
    return { status: undefined, stream: undefined };
  }

  if (method === 'GET' && response.status === 204) {
    // reconnectToStream: "no active stream found, so we do not resume"
    return { status: 204, stream: undefined, nothingToResume: true };
  }
  if (!response.ok) {
    addError('http', `HTTP ${response.status}: ${(await response.text()).slice(0, 500)}`);
    return { status: response.status, stream: undefined };
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.toLowerCase().startsWith('text/event-stream')) {
    addError('header', `content-type must be text/event-stream, got ${JSON.stringify(contentType)}`);
  }
  const protocol = response.headers.get('x-vercel-ai-ui-message-stream');
  if (protocol !== 'v1') {
    addError('header', `x-vercel-ai-ui-message-stream must be "v1", got ${JSON.stringify(protocol)}`);
  }
  if (response.body == null) {
    addError('http', 'response has no body');
    return { status: response.status, stream: undefined };
  }
  return { status: response.status, stream: response.body };
}

// Framing checks the official parser does not make (it silently ignores
// `data: [DONE]` and silently drops an event not closed by a blank line).
// Follows the SSE line rules of eventsource-parser (CRLF, CR or LF endings,
// ':' comments, data lines joined with '\n').
function checkFraming(text) {
  const events = [];
  let data = null;
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const lastLineIsOpen = lines[lines.length - 1] !== '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') {
      if (i === lines.length - 1) break; // artefact of split after final newline
      if (data != null) events.push(data);
      data = null;
      continue;
    }
    if (line.startsWith(':')) continue; // comment, e.g. ": keep-alive"
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data = data == null ? value : `${data}\n${value}`;
  }
  const unterminated = data != null || lastLineIsOpen;
  if (unterminated) {
    addError('framing', 'stream ends inside an event (no blank line after the last field); the official parser drops that event');
  }
  const doneIndexes = events.flatMap((event, index) => (event === '[DONE]' ? [index] : []));
  if (doneIndexes.length === 0) {
    addError('framing', 'stream does not end with "data: [DONE]"');
  } else {
    if (doneIndexes.length > 1) addError('framing', `"data: [DONE]" sent ${doneIndexes.length} times`);
    if (doneIndexes[0] !== events.length - 1) {
      addError('framing', `${events.length - 1 - doneIndexes[0]} event(s) after "data: [DONE]"`);
    }
  }
  return { done: doneIndexes.length > 0 };
}

// Condense a failed ParseResult. uiMessageChunkSchema is a plain z.union, so
// zod reports every branch; keep only the branch whose `type` matched.
function describeParseFailure(result) {
  const issues = result.error?.cause?.issues;
  if (!Array.isArray(issues)) return errorMessage(result.error).split('\n')[0];
  const type = result.rawValue?.type;
  const lines = [];
  for (const issue of issues) {
    if (issue.code !== 'invalid_union' || !Array.isArray(issue.errors)) {
      lines.push(`${issue.path?.join('.') || '(root)'}: ${issue.message}`);
      continue;
    }
    const matching = issue.errors.filter(
      branch => !branch.some(sub => sub.path?.length === 1 && sub.path[0] === 'type'),
    );
    if (matching.length === 0) {
      lines.push(`unknown chunk type ${JSON.stringify(type)}`);
      continue;
    }
    for (const sub of matching[0]) lines.push(`${sub.path?.join('.') || '(root)'}: ${sub.message}`);
  }
  return `invalid ${JSON.stringify(type)} chunk: ${lines.join('; ')}`;
}

async function main() {
  const opened = await openBody();
  const initialMessage = messageToContinue(requestBody);
  const base = {
    id: initialMessage?.id ?? '',
    role: 'assistant',
    parts: initialMessage?.parts ?? [],
    metadata: initialMessage?.metadata,
  };

  if (opened.nothingToResume) {
    return { ...base, chunks: 0, errors, finishReason: undefined, errorChunks: [], done: false, status: 204 };
  }
  if (opened.stream == null) {
    return { ...base, chunks: 0, errors, finishReason: undefined, errorChunks: [], done: false, status: opened.status ?? null };
  }

  const [forParser, forFraming] = opened.stream.tee();

  const rawTextPromise = (async () => {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const piece of forFraming) text += decoder.decode(piece, { stream: true });
      text += decoder.decode();
    } catch (error) {
      addError('http', `reading the body failed: ${errorMessage(error)}`);
    }
    return text;
  })();

  let chunkCount = 0;
  const seenChunks = [];
  const errorChunks = [];
  let finishReason;

  // parseJsonEventStream -> ParseResult<UIMessageChunk> per SSE `data:` event.
  // DefaultChatTransport throws on the first failure; we record every failure
  // (so a test sees them all) and only forward valid chunks.
  const chunkStream = parseJsonEventStream({ stream: forParser, schema: uiMessageChunkSchema }).pipeThrough(
    new TransformStream({
      transform(result, controller) {
        const index = chunkCount++;
        if (!result.success) {
          addError('schema', describeParseFailure(result), { chunk: index, value: result.rawValue });
          return;
        }
        const chunk = result.value;
        seenChunks.push(chunk.type);
        if (chunk.type === 'error') errorChunks.push(chunk.errorText);
        if (chunk.type === 'finish') finishReason = chunk.finishReason;
        if (chunk.type === 'start' && initialMessage != null && chunk.messageId != null && chunk.messageId !== initialMessage.id) {
          addError('protocol', `start.messageId ${JSON.stringify(chunk.messageId)} differs from the continued assistant message ${JSON.stringify(initialMessage.id)}; useChat would add a second assistant message`, { chunk: index });
        }
        controller.enqueue(chunk);
      },
    }),
  );

  let finalMessage;
  const messages = readUIMessageStream({
    message: initialMessage,
    stream: chunkStream,
    onError(error) {
      // `error` chunks arrive here too (processUIMessageStream: onError(new Error(errorText)));
      // they are part of the protocol and reported in errorChunks instead.
      if (error instanceof Error && errorChunks.includes(error.message) && error.name === 'Error') return;
      addError('processing', errorMessage(error), { chunkType: error?.chunkType, chunkId: error?.chunkId });
    },
  });
  try {
    for await (const message of messages) finalMessage = message;
  } catch (error) {
    addError('processing', errorMessage(error));
  }

  const { done } = checkFraming(await rawTextPromise);

  const message = finalMessage ?? base;
  const last = seenChunks[seenChunks.length - 1];
  if (seenChunks.length === 0) {
    addError('protocol', 'no valid chunk in the stream');
  } else {
    if (seenChunks[0] !== 'start') addError('protocol', `first chunk is "${seenChunks[0]}", expected "start"`);
    if (seenChunks.filter(type => type === 'start').length > 1) {
      addError('protocol', 'more than one "start" chunk');
    }
    // after a processing error the official pipeline stops reading, so the
    // last chunk seen says nothing about how the server ended the stream
    const processingStopped = errors.some(error => error.kind === 'processing');
    // finish: normal end; abort: stopped (streamText on abort); error: failed
    // (createUIMessageStream / streamText close the stream after an error chunk)
    if (!processingStopped && !['finish', 'abort', 'error'].includes(last)) {
      addError('protocol', `last chunk is "${last}", expected "finish", "abort" or "error"`);
    }
  }
  if (last === 'finish') {
    // a finished message has no part left open
    message.parts.forEach((part, index) => {
      if ((part.type === 'text' || part.type === 'reasoning') && part.state === 'streaming') {
        addError('protocol', `${part.type} part ${index} never got its "${part.type}-end"`);
      }
      if ((part.type.startsWith('tool-') || part.type === 'dynamic-tool') && part.state === 'input-streaming') {
        addError('protocol', `tool part ${index} (${part.toolCallId}) still input-streaming at finish`);
      }
    });
  }

  return {
    id: message.id,
    role: message.role,
    parts: message.parts,
    metadata: message.metadata,
    chunks: chunkCount,
    errors,
    finishReason,
    errorChunks,
    done,
    status: opened.status ?? null,
  };
}

const result = await main();
// stable shape for callers: absent values are null, not missing keys
for (const key of ['metadata', 'finishReason', 'status']) result[key] ??= null;
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exitCode = result.errors.length > 0 ? 1 : 0;
