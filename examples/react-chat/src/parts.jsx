import Markdown from 'react-markdown';
import { getToolName, isToolUIPart } from 'ai';
import { formatters } from './i18n.js';

/** The newest view of every booking in the conversation, by reference: a `data-booking` part
 * (or a tool result carrying a booking) later in the conversation updates every card showing
 * that booking, so an old "held" card reads "confirmed" once it is. */
export function latestBookings(messages) {
  const latest = new Map();
  for (const message of messages) {
    for (const part of message.parts) {
      const booking =
        part.type === 'data-booking' ? part.data : isToolUIPart(part) ? part.output?.booking : null;
      if (booking?.reference) latest.set(booking.reference, booking);
    }
  }
  return latest;
}

export function Message({ message, t, lang, bookings, live, onDecide }) {
  const f = formatters(lang);
  // Bookings that have a data-booking card in this message are shown by it, not again by the tool.
  const carded = new Set(
    message.parts.filter(p => p.type === 'data-booking').map(p => p.data?.reference),
  );
  return (
    <article className={`msg ${message.role}`} aria-label={message.role === 'user' ? t.you : t.assistant}>
      {message.parts.map((part, index) => {
        const key = part.toolCallId ?? part.id ?? index;
        if (part.type === 'text') {
          return message.role === 'user' ? (
            <p key={index} className="text">
              {part.text}
            </p>
          ) : (
            // react-markdown builds React elements (no innerHTML): raw HTML in the text is
            // shown as text and unsafe link protocols are dropped.
            <div key={index} className="text">
              <Markdown>{part.text}</Markdown>
            </div>
          );
        }
        if (part.type === 'data-booking') {
          return <BookingCard key={key} booking={bookings.get(part.data?.reference) ?? part.data} t={t} f={f} />;
        }
        if (isToolUIPart(part)) {
          return (
            <ToolPart
              key={key}
              part={part}
              name={getToolName(part)}
              t={t}
              f={f}
              lang={lang}
              bookings={bookings}
              carded={carded}
              live={live}
              onDecide={onDecide}
            />
          );
        }
        return null; // step-start, reasoning, other data parts
      })}
      {message.role === 'assistant' && message.metadata?.usage && (
        <DevDetails usage={message.metadata.usage} t={t} />
      )}
    </article>
  );
}

function ToolPart({ part, name, t, f, lang, bookings, carded, live, onDecide }) {
  const className = `tool tool-${name}`;
  switch (part.state) {
    case 'input-streaming':
    case 'input-available':
      return (
        <div className={`${className} running`} role="status">
          {name === 'search_flights' ? t.searching : name === 'get_weather' ? t.weathering : t.working}
        </div>
      );
    case 'approval-requested':
    case 'approval-responded':
      return (
        <div className={`${className} approval`}>
          <Approval part={part} t={t} f={f} lang={lang} live={live} onDecide={onDecide} />
        </div>
      );
    case 'output-denied':
      return (
        <div className={`${className} approval`}>
          <Approval part={part} t={t} f={f} lang={lang} live={false} onDecide={onDecide} />
          <p className="muted">{t.declined}</p>
        </div>
      );
    case 'output-error':
      return (
        <div className={`${className} failed`}>
          <p className="error-text">
            {t.toolFailed}: {part.errorText}
          </p>
        </div>
      );
    case 'output-available': {
      const out = part.output ?? {};
      if (out.error) {
        return (
          <div className={`${className} failed`}>
            <p className="error-text">
              {t.toolFailed}: {out.error.message ?? out.error.code}
            </p>
          </div>
        );
      }
      if (name === 'search_flights') return <div className={className}><Flights out={out} t={t} f={f} lang={lang} /></div>;
      if (name === 'get_weather') return <div className={className}><Weather w={out} t={t} lang={lang} /></div>;
      if (out.booking?.reference) {
        if (carded.has(out.booking.reference)) return null;
        return <BookingCard booking={bookings.get(out.booking.reference) ?? out.booking} t={t} f={f} />;
      }
      return null;
    }
    default:
      return null;
  }
}

const placeName = (p, lang) => (p ? (lang === 'en' && p.city_en) || p.city || p.query || '' : '');

function Flights({ out, t, f, lang }) {
  const q = out.query ?? {};
  const flights = Array.isArray(out.flights) ? out.flights : [];
  const caption = [`${placeName(q.from, lang)} → ${placeName(q.to, lang)}`, f.day(q.date), t.flights(out.total_matches ?? flights.length)]
    .filter(Boolean)
    .join(' · ');
  if (!flights.length) {
    return (
      <>
        <h3>{caption}</h3>
        <p>{out.message ?? t.noFlights}</p>
      </>
    );
  }
  return (
    <>
      <div className="table-wrap" tabIndex={0} role="region" aria-label={caption}>
        <table className="flights">
          <caption>{caption}</caption>
          <thead>
            <tr>
              <th scope="col">{t.airline}</th>
              <th scope="col">{t.flight}</th>
              <th scope="col">{t.time}</th>
              <th scope="col">{t.price}</th>
              <th scope="col">{t.seats}</th>
            </tr>
          </thead>
          <tbody>
            {flights.map(flight => (
              <tr key={flight.id ?? flight.flight_number}>
                <td>{flight.airline_name ?? flight.airline_code}</td>
                <th scope="row">{flight.flight_number}</th>
                <td className="nowrap">
                  {f.hhmm(flight.departs_at)}–{f.hhmm(flight.arrives_at)}
                </td>
                <td className="num nowrap">{f.vnd(flight.total_vnd ?? flight.price_vnd)}</td>
                <td className="num">{flight.seats_left}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {out.total_matches > flights.length && <p className="muted">{t.shown(flights.length, out.total_matches)}</p>}
    </>
  );
}

function Weather({ w, t, lang }) {
  return (
    <>
      <h3>{t.weather(placeName(w.place, lang))}</h3>
      <p>
        <strong>
          {Math.round(w.temp_min_c)}–{Math.round(w.temp_max_c)}°C
        </strong>{' '}
        {lang === 'en' ? w.condition_en : w.condition_vi}
      </p>
      {w.precip_prob_pct != null && <p className="muted">{t.rain(w.precip_prob_pct)}</p>}
    </>
  );
}

/** What the traveller is asked to approve: the server's summary (flight, times, passengers,
 * total), worded in both languages. */
function Approval({ part, t, f, lang, live, onDecide }) {
  const approval = part.approval ?? {};
  const d = approval.descriptor ?? {};
  const b = d.booking ?? d; // book/hold: the summary itself; confirm/cancel: {booking}
  const flight = b.flight ?? {};
  const action = ['book', 'hold', 'confirm', 'cancel'].includes(d.action) ? d.action : 'other';
  const names = (b.passengers ?? []).map(p => p.full_name).join(', ');
  const headingId = `approval-${approval.id}`;
  return (
    <section aria-labelledby={headingId}>
      <h3 id={headingId}>{t.approveTitle[action]}</h3>
      {flight.flight_number ? (
        <dl className="summary">
          {b.reference && (
            <>
              <dt>{t.reference}</dt>
              <dd>{b.reference}</dd>
            </>
          )}
          <dt>{t.flight}</dt>
          <dd>
            {flight.flight_number} · {flight.origin} → {flight.destination}
          </dd>
          <dt>{t.time}</dt>
          <dd>
            {f.day(flight.departs_at)} · {f.hhmm(flight.departs_at)}–{f.hhmm(flight.arrives_at)}
          </dd>
          <dt>{t.passengers}</dt>
          <dd>{names}</dd>
          <dt>{t.total}</dt>
          <dd>{f.vnd(b.total_vnd)}</dd>
        </dl>
      ) : (
        <p>{(lang === 'vi' && d.text_vi) || d.text || approval.requestReason || ''}</p>
      )}
      {part.state === 'approval-requested' && live && (
        <div className="actions">
          <button type="button" className="approve" onClick={() => onDecide(approval.id, true)}>
            {t.approve}
          </button>
          <button type="button" className="decline" onClick={() => onDecide(approval.id, false)}>
            {t.decline}
          </button>
        </div>
      )}
      {part.state === 'approval-responded' && approval.approved && <p className="muted">{t.approved}</p>}
    </section>
  );
}

function BookingCard({ booking, t, f }) {
  const flight = booking.flight ?? {};
  const status = booking.status ?? '';
  return (
    <div className="booking" data-reference={booking.reference} data-status={status}>
      <p className="booking-head">
        <span>
          {t.reference}: <strong className="reference">{booking.reference}</strong>
        </span>
        <span className={`badge status-${status}`}>{t.status[status] ?? status}</span>
      </p>
      <p>
        <strong>{flight.flight_number}</strong> · {flight.origin} → {flight.destination} · {f.day(flight.departs_at)} ·{' '}
        {f.hhmm(flight.departs_at)}–{f.hhmm(flight.arrives_at)}
      </p>
      <p>
        {t.passengers}: {(booking.passengers ?? []).map(p => p.full_name).join(', ')}
      </p>
      <p>
        {t.total}: <strong>{f.vnd(booking.total_vnd)}</strong>
      </p>
      {status === 'held' && booking.hold_expires_at && (
        <p className="muted">{t.holdUntil(`${f.hhmm(booking.hold_expires_at)} ${f.day(booking.hold_expires_at)}`)}</p>
      )}
    </div>
  );
}

/** Model, time to first token, tokens and cost: for developers, behind a toggle. */
function DevDetails({ usage, t }) {
  const rows = [
    ['model', (usage.models ?? []).join(', ')],
    ['ttft', usage.ttftMs != null ? `${Math.round(usage.ttftMs)} ms` : null],
    ['tokens', usage.promptTokens != null ? `${usage.promptTokens} in · ${usage.completionTokens} out` : null],
    ['cost', usage.costUsd != null ? `$${Number(usage.costUsd).toFixed(4)}` : null],
  ].filter(([, value]) => value);
  return (
    <details className="dev">
      <summary>{t.details}</summary>
      <dl>
        {rows.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}
