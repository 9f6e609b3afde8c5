// The new-job form: checks the chosen images in the browser (format, size, count, dimensions) before anything is
// uploaded, shows previews, estimates memory from the peaks the service measured, and submits the job to the API
// itself (POST /v1/jobs, signed in by the session, with the CSRF token), showing the API's problems by their fields.
(function () {
  'use strict';
  const page = JSON.parse(document.getElementById('new-job-data').dataset.page);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById('new-job');
  const input = document.getElementById('f-images');
  const zone = document.getElementById('drop-zone');
  const previews = document.getElementById('previews');
  const reuse = document.getElementById('f-reuse');
  const MIB = 1024 * 1024;
  let files = [];
  let fileProblems = [];

  function value(name) {
    const el = form.querySelector('[name="' + name + '"]:not([type=radio]), [name="' + name + '"][type=radio]:checked');
    return el ? el.value : '';
  }

  function lowResolution() {
    const native = page.native_resolution[value('base_model')] || 0;
    const ratio = Number(value('resize_ratio') || 0.5);
    const resolution = Number(value('resolution') || native);
    return Math.round(resolution * (isFinite(ratio) ? ratio : 0.5));
  }

  function size(bytes) {
    return bytes < MIB ? (bytes / 1024).toFixed(1) + ' KiB' : (bytes / MIB).toFixed(1) + ' MiB';
  }

  function dimensions(file) {
    return new Promise(resolve => {
      const img = new Image();
      const url = URL.createObjectURL(file);
      img.onload = () => resolve({ url, width: img.naturalWidth, height: img.naturalHeight });
      img.onerror = () => resolve({ url, width: 0, height: 0 });
      img.src = url;
    });
  }

  async function check() {
    previews.replaceChildren();
    fileProblems = [];
    const min = Math.max(page.min_side, lowResolution());
    if (files.length > page.max_images) {
      fileProblems.push({ field: 'images', message: 'at most ' + page.max_images + ' files, got ' + files.length });
    }
    const total = files.reduce((s, f) => s + f.size, 0);
    if (total > page.max_request_bytes) {
      fileProblems.push({ field: 'images', message: size(total) + ' in all; at most ' + size(page.max_request_bytes) });
    }
    for (let i = 0; i < files.length; i++) {
      const f = files[i];
      const li = document.createElement('li');
      const problems = [];
      let dims = null;
      if (!page.formats.includes(f.type)) {
        problems.push('not a PNG, JPEG or WebP image (' + (f.type || 'unknown type') + ')');
      } else if (f.size > page.max_file_bytes) {
        problems.push(size(f.size) + '; at most ' + size(page.max_file_bytes) + ' per image');
      } else {
        dims = await dimensions(f);
        if (dims.width === 0) {
          problems.push('cannot be read as an image');
        } else if (Math.min(dims.width, dims.height) < min) {
          problems.push(dims.width + 'x' + dims.height + ' px is smaller than the low resolution ' + min + ' px');
        }
      }
      if (dims && dims.width > 0) {
        const img = document.createElement('img');
        img.src = dims.url;
        img.alt = 'Preview of ' + f.name;
        li.append(img);
      }
      const caption = document.createElement('span');
      caption.textContent = f.name + ' · ' + size(f.size) + (dims && dims.width ? ' · ' + dims.width + 'x' + dims.height : '');
      li.append(caption);
      if (problems.length) {
        li.classList.add('bad');
        const p = document.createElement('span');
        p.className = 'field-error';
        p.textContent = problems.join('; ');
        li.append(p);
        problems.forEach(m => fileProblems.push({ field: 'images[' + i + ']', message: f.name + ': ' + m }));
      }
      previews.append(li);
    }
    showProblems(fileProblems, false);
  }

  input.addEventListener('change', () => {
    files = Array.from(input.files);
    if (reuse && files.length) {
      reuse.checked = false;
    }
    check();
  });
  ['dragenter', 'dragover'].forEach(t => zone.addEventListener(t, e => {
    e.preventDefault();
    zone.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach(t => zone.addEventListener(t, () => zone.classList.remove('over')));
  zone.addEventListener('drop', e => {
    e.preventDefault();
    input.files = e.dataTransfer.files;
    input.dispatchEvent(new Event('change'));
  });

  function clearProblems() {
    form.querySelectorAll('.field-error[id^="err-"]').forEach(p => { p.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach(el => el.removeAttribute('aria-invalid'));
    const box = document.getElementById('form-errors');
    box.hidden = true;
    box.replaceChildren();
  }

  // Each problem goes next to its field (images[3] next to the images); those without one into the box on top.
  function showProblems(problems, focus) {
    clearProblems();
    const box = document.getElementById('form-errors');
    let first = null;
    for (const pr of problems) {
      const field = (pr.field || '').replace(/\[\d+\]$/, '').replace(/\..*$/, '');
      const slot = field && document.getElementById('err-' + field);
      if (slot) {
        slot.textContent = (slot.textContent ? slot.textContent + ' ' : '') + pr.message + '.';
        const control = document.getElementById('f-' + field) || form.querySelector('[name="' + field + '"]');
        if (control) {
          control.setAttribute('aria-invalid', 'true');
          first = first || control;
        }
      } else {
        const p = document.createElement('p');
        p.textContent = (pr.field ? pr.field + ': ' : '') + pr.message;
        box.append(p);
        box.hidden = false;
      }
    }
    if (focus && first) {
      first.focus();
    }
  }

  function spec() {
    const s = { base_model: value('base_model') };
    form.querySelectorAll('[data-wire]').forEach(el => {
      if (el.type === 'radio' && !el.checked) {
        return;
      }
      const name = el.name;
      const wire = el.dataset.wire;
      if (wire === 'boolean') {
        s[name] = el.checked;
        return;
      }
      const text = el.value.trim();
      if (text === '') {
        return;
      }
      if (wire === 'list') {
        s[name] = text.split('\n').map(l => l.trim()).filter(l => l !== '');
      } else if (wire === 'integer' || wire === 'number') {
        // A number that is not one goes as typed: the API names the field and what it expected.
        s[name] = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text) ? Number(text) : text;
      } else {
        s[name] = text;
      }
    });
    if (reuse && reuse.checked) {
      s.image_set_id = reuse.value;
    }
    return s;
  }

  function estimate() {
    const out = document.getElementById('memory-estimate');
    const model = value('base_model');
    const schedule = value('schedule');
    const rows = page.memory.filter(m => m.base_model === model);
    const high = rows.find(m => m.full_resolution_backprop);
    const low = rows.find(m => !m.full_resolution_backprop);
    let bytes = null;
    let from = null;
    if (schedule === 'bp_high') {
      bytes = high && high.bp_peak_bytes;
      from = high;
    } else if (low) {
      const bp = low.bp_peak_bytes || 0;
      const zo = low.zo_peak_bytes || 0;
      bytes = schedule === 'bp_low' ? bp : schedule === 'zo_high' ? zo : Math.max(bp, zo);
      from = low;
    }
    out.textContent = bytes
      ? 'about ' + size(bytes) + ' at the peak: the largest measured in ' + from.jobs + ' succeeded job(s) on '
        + model + ' (' + (from.device || 'device') + '); a higher resolution needs more, gradient checkpointing less.'
      : 'not measured yet: no job like this has succeeded on ' + model + ' here.';
  }
  form.addEventListener('change', e => {
    if (e.target.name === 'base_model' || e.target.name === 'schedule') {
      estimate();
    }
    if ((e.target.name === 'resize_ratio' || e.target.name === 'resolution' || e.target.name === 'base_model')
        && files.length) {
      check();
    }
  });
  estimate();

  // The API wants the spec as a JSON field (a part with Content-Type application/json and no filename), which
  // FormData cannot make: a Blob there becomes a file named "blob". So the body is written out here.
  function multipart(specJson, chosen) {
    const boundary = '----selectune' + Array.from(crypto.getRandomValues(new Uint32Array(4))).join('');
    const parts = ['--' + boundary + '\r\nContent-Disposition: form-data; name="spec"\r\n'
      + 'Content-Type: application/json\r\n\r\n' + specJson + '\r\n'];
    for (const f of chosen) {
      const name = f.name.replace(/["\\\r\n]/g, '_');
      parts.push('--' + boundary + '\r\nContent-Disposition: form-data; name="images"; filename="' + name + '"\r\n'
        + 'Content-Type: ' + (f.type || 'application/octet-stream') + '\r\n\r\n', f, '\r\n');
    }
    parts.push('--' + boundary + '--\r\n');
    return { body: new Blob(parts), type: 'multipart/form-data; boundary=' + boundary };
  }

  form.addEventListener('submit', async e => {
    e.preventDefault();
    if (fileProblems.length) {
      showProblems(fileProblems, true);
      return;
    }
    const useSet = reuse && reuse.checked;
    if (!useSet && files.length === 0) {
      showProblems([{ field: 'images', message: 'choose at least one image of the subject' }], true);
      return;
    }
    const button = document.getElementById('submit');
    button.disabled = true;
    button.textContent = 'Creating…';
    try {
      const headers = { Accept: 'application/json', 'X-CSRF-Token': csrf };
      let body;
      if (useSet && files.length === 0) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(spec());
      } else {
        const s = spec();
        delete s.image_set_id;
        const m = multipart(JSON.stringify(s), files);
        headers['Content-Type'] = m.type;
        body = m.body;
      }
      const r = await fetch('/v1/jobs', { method: 'POST', headers, body, credentials: 'same-origin' });
      const answer = await r.json().catch(() => ({}));
      if (r.ok) {
        window.location.assign('/jobs/' + encodeURIComponent(answer.id));
        return;
      }
      const problems = answer.errors && answer.errors.length ? answer.errors
        : [{ field: null, message: answer.detail || ('the service answered ' + r.status) }];
      showProblems(problems, true);
    } catch (err) {
      showProblems([{ field: null, message: 'the request did not reach the service (' + err.message + ')' }], true);
    } finally {
      button.disabled = false;
      button.textContent = 'Create job';
    }
  });
})();
