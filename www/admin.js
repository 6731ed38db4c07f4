// admin.js — small progressive enhancements of the admin pages (they all work without it):
// a copy button for a token shown once, and confirmation before destructive actions.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  // <button data-copy="ID"> copies the text of the element with that id.
  for (const btn of document.querySelectorAll('button[data-copy]')) {
    btn.hidden = false;
    btn.addEventListener('click', async () => {
      const src = document.getElementById(btn.dataset.copy);
      if (!src) return;
      try {
        await navigator.clipboard.writeText(src.textContent.trim());
        btn.textContent = 'Copied';
      } catch {
        const range = document.createRange();
        range.selectNodeContents(src);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        btn.textContent = 'Press Ctrl-C to copy';
      }
    });
  }
  // <form data-confirm="question"> asks before submitting.
  for (const form of document.querySelectorAll('form[data-confirm]')) {
    form.addEventListener('submit', (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }
});
