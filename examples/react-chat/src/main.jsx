import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { loadConfig } from './config.js';
import App from './App.jsx';
import './style.css';

// The API's address is read at run time from config.json (next to index.html), so one build
// serves every environment; VITE_BOOKING_API_URL at build time is the fallback.
loadConfig().then(config => {
  createRoot(document.getElementById('root')).render(
    <StrictMode>
      <App config={config} />
    </StrictMode>,
  );
});
