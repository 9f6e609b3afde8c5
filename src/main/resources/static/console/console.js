// Every htmx request of the console carries the session's CSRF token (htmx only GETs today; this keeps any
// future hx-post protected the same way as the forms).
document.addEventListener('htmx:configRequest', function (e) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    e.detail.headers['X-CSRF-Token'] = meta.content;
  }
});
