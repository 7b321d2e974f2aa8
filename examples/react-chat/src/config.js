/** Where the booking API is: `config.json` next to index.html (run time), else the build's
 * `VITE_BOOKING_API_URL`, else the page's own origin. */
export async function loadConfig() {
  let apiUrl = import.meta.env.VITE_BOOKING_API_URL ?? '';
  try {
    const response = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' });
    if (response.ok) apiUrl = (await response.json()).apiUrl ?? apiUrl;
  } catch {
    // no config.json: keep the build-time value
  }
  return { apiUrl: apiUrl.replace(/\/+$/, '') };
}
