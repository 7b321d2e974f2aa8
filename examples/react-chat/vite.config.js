import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// A relative base: dist/ can be served from any path (a CDN folder, a test's static server).
export default defineConfig({
  base: './',
  plugins: [react()],
  // react, react-markdown and the `ai` package's schemas make one ~500 kB chunk (150 kB gzip):
  // fine for a demo; an airline's app would split routes.
  build: { sourcemap: true, chunkSizeWarningLimit: 600 },
});
