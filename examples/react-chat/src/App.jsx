import { useCallback, useEffect, useState } from 'react';
import { Chat } from './Chat.jsx';
import { HttpError, loadMessages } from './api.js';
import { messages as catalogue } from './i18n.js';

const newChatId = () => `web-${crypto.randomUUID().replaceAll('-', '').slice(0, 20)}`;

/** The conversation id lives in the address (`?chat=`), so a reload comes back to it. */
function chatIdFromUrl() {
  const url = new URL(window.location.href);
  let id = url.searchParams.get('chat');
  if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    id = newChatId();
    url.searchParams.set('chat', id);
    window.history.replaceState(null, '', url);
  }
  return id;
}

export default function App({ config }) {
  const [lang, setLang] = useState(
    () => localStorage.getItem('booking.lang') ?? (navigator.language?.startsWith('en') ? 'en' : 'vi'),
  );
  const [apiKey, setApiKey] = useState(() => sessionStorage.getItem('booking.key') ?? '');
  const [needKey, setNeedKey] = useState(false);
  const [chatId, setChatId] = useState(chatIdFromUrl);
  const [history, setHistory] = useState(null); // null while loading
  const [loadError, setLoadError] = useState(null);
  const t = catalogue(lang);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t.title;
    localStorage.setItem('booking.lang', lang);
  }, [lang, t.title]);

  // The history comes from the server before useChat mounts: useChat then resumes a reply
  // still running (`resume: true`) on top of it.
  useEffect(() => {
    let cancelled = false;
    setHistory(null);
    setLoadError(null);
    loadMessages(config.apiUrl, chatId, apiKey)
      .then(messages => !cancelled && setHistory(messages))
      .catch(error => {
        if (cancelled) return;
        if (error instanceof HttpError && error.status === 401) setNeedKey(true);
        else setLoadError(error.message);
        setHistory([]);
      });
    return () => {
      cancelled = true;
    };
  }, [config.apiUrl, chatId, apiKey]);

  const saveKey = useCallback(key => {
    sessionStorage.setItem('booking.key', key);
    setApiKey(key);
    setNeedKey(false);
  }, []);

  const startNewChat = () => {
    const id = newChatId();
    const url = new URL(window.location.href);
    url.searchParams.set('chat', id);
    window.history.pushState(null, '', url);
    setChatId(id);
  };

  return (
    <div className="app">
      <header>
        <h1>{t.title}</h1>
        <div className="header-actions">
          <button type="button" className="ghost" onClick={startNewChat}>
            {t.newChat}
          </button>
          <button
            type="button"
            className="ghost"
            lang={lang === 'vi' ? 'en' : 'vi'}
            onClick={() => setLang(lang === 'vi' ? 'en' : 'vi')}
          >
            {t.lang}
          </button>
        </div>
      </header>
      {needKey && <KeyForm t={t} initial={apiKey} onSave={saveKey} />}
      {loadError && (
        <p className="error" role="alert">
          {t.error}: {loadError}
        </p>
      )}
      {history === null ? (
        <p className="muted" role="status">
          {t.loading}
        </p>
      ) : (
        <Chat
          key={`${chatId}:${apiKey}`}
          apiUrl={config.apiUrl}
          chatId={chatId}
          initialMessages={history}
          apiKey={apiKey}
          lang={lang}
          onUnauthorized={() => setNeedKey(true)}
        />
      )}
    </div>
  );
}

function KeyForm({ t, initial, onSave }) {
  const [value, setValue] = useState(initial);
  return (
    <form
      className="key-form"
      onSubmit={event => {
        event.preventDefault();
        if (value.trim()) onSave(value.trim());
      }}
    >
      <p>{t.keyHint}</p>
      <label htmlFor="api-key">{t.key}</label>
      <input
        id="api-key"
        type="password"
        autoComplete="off"
        value={value}
        onChange={event => setValue(event.target.value)}
      />
      <button type="submit">{t.save}</button>
    </form>
  );
}
