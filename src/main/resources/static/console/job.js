// The job page: charts of the job's per-step metrics (read from /v1/jobs/{id}/metrics with the session) and live
// updates from the job's own SSE stream (/v1/jobs/{id}/events). No data is invented here: every point is a step the
// service measured, and the shading behind the timestep chart is p(t, i) as the server computed it with the
// trainer's StrategyChooser.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('job-data').dataset.job);
  const id = data.id;
  const MIB = 1024 * 1024;
  const COLORS = { bp_low: '#1f5fbf', zo_high: '#a34700', bp_high: '#6a3d9a' };
  const LABELS = { bp_low: 'BP-low', zo_high: 'ZO-high', bp_high: 'BP-high' };
  let lastStep = 0;
  let loading = null;
  let again = false;

  function strategyDatasets() {
    return ['bp_low', 'zo_high', 'bp_high'].map(s => ({
      label: LABELS[s], strategy: s, data: [], showLine: false,
      backgroundColor: COLORS[s], borderColor: COLORS[s], pointRadius: 3,
    }));
  }

  const common = (yTitle) => ({
    responsive: true, maintainAspectRatio: false, animation: false, parsing: false,
    scales: { x: { type: 'linear', title: { display: true, text: 'step' }, min: 0.5, max: data.curve.steps + 0.5 },
              y: { type: 'linear', title: { display: true, text: yTitle } } },
    plugins: { legend: { labels: { color: '#1a1a1a' } } },
  });

  // p(t, i) behind the timestep points: one rectangle per grid cell, its opacity the probability of ZO-high.
  const shading = {
    id: 'dtapShading',
    beforeDatasetsDraw(chart) {
      const c = data.curve;
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      ctx.beginPath();
      ctx.rect(chartArea.left, chartArea.top, chartArea.width, chartArea.height);
      ctx.clip();
      const dt = c.timesteps.length > 1 ? c.timesteps[1] - c.timesteps[0] : 1000;
      for (let col = 0; col < c.progress.length; col++) {
        // Progress i counts the steps already taken: step s runs with i = s - 1.
        const x0 = Math.round(scales.x.getPixelForValue(c.progress[col] + 0.5));
        const x1 = Math.round(scales.x.getPixelForValue((col + 1 < c.progress.length ? c.progress[col + 1] : c.steps) + 0.5));
        for (let row = 0; row < c.timesteps.length; row++) {
          const y0 = Math.round(scales.y.getPixelForValue(c.timesteps[row] - dt / 2));
          const y1 = Math.round(scales.y.getPixelForValue(c.timesteps[row] + dt / 2));
          ctx.fillStyle = 'rgba(163, 71, 0, ' + (0.45 * c.p[row][col]).toFixed(3) + ')';
          ctx.fillRect(x0, y1, x1 - x0, y0 - y1);
        }
      }
      ctx.restore();
    },
  };

  const lossChart = new Chart(document.getElementById('loss-chart'), {
    type: 'scatter', data: { datasets: strategyDatasets() }, options: common('loss'),
  });
  const timestepOptions = common('timestep t');
  timestepOptions.scales.y.min = 0;
  timestepOptions.scales.y.max = 1000;
  const timestepChart = new Chart(document.getElementById('timestep-chart'), {
    type: 'scatter', data: { datasets: strategyDatasets() }, options: timestepOptions, plugins: [shading],
  });
  const memoryChart = new Chart(document.getElementById('memory-chart'), {
    type: 'scatter',
    data: {
      datasets: [
        { label: 'peak per step (MiB)', data: [], showLine: true, borderColor: '#1a1a1a', backgroundColor: '#1a1a1a',
          pointRadius: 2 },
        { label: 'BP peak', data: [], showLine: true, borderColor: COLORS.bp_low, borderDash: [6, 4], pointRadius: 0 },
        { label: 'ZO peak', data: [], showLine: true, borderColor: COLORS.zo_high, borderDash: [2, 3], pointRadius: 0 },
      ],
    },
    options: common('MiB'),
  });
  window.selectuneCharts = { loss: lossChart, timestep: timestepChart, memory: memoryChart };

  function peaks(bp, zo) {
    const x = [0.5, data.curve.steps + 0.5];
    memoryChart.data.datasets[1].data = bp == null ? [] : x.map(v => ({ x: v, y: bp / MIB }));
    memoryChart.data.datasets[2].data = zo == null ? [] : x.map(v => ({ x: v, y: zo / MIB }));
  }
  peaks(data.bp_peak_bytes, data.zo_peak_bytes);

  function add(steps) {
    for (const m of steps) {
      const i = ['bp_low', 'zo_high', 'bp_high'].indexOf(m.strategy);
      lossChart.data.datasets[i].data.push({ x: m.step, y: m.loss });
      timestepChart.data.datasets[i].data.push({ x: m.step, y: m.timestep });
      memoryChart.data.datasets[0].data.push({ x: m.step, y: m.peak_bytes / MIB });
      lastStep = m.step;
    }
    document.getElementById('charts-empty').hidden = lastStep > 0;
  }

  async function loadMetrics() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      let more = true;
      while (more) {
        const r = await fetch('/v1/jobs/' + encodeURIComponent(id) + '/metrics?limit=1000&after=' + lastStep,
          { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        if (!r.ok) {
          break;
        }
        const page = await r.json();
        add(page.data);
        more = page.has_more && page.data.length > 0;
      }
      lossChart.update('none');
      timestepChart.update('none');
      memoryChart.update('none');
      document.body.dataset.chartedSteps = String(lastStep);
    })();
    try {
      await loading;
    } finally {
      loading = null;
    }
    if (again) {
      again = false;
      await loadMetrics();
    }
  }

  // Fragments are swapped with fetch, one refresh at a time. htmx.ajax would not do: it resolves a request that
  // it queues behind another in flight on the same element at once, before that request has swapped anything,
  // so the page could claim its results were shown while the old ones still were.
  let refreshes = Promise.resolve();

  function serially(work) {
    const done = refreshes.then(work);
    refreshes = done.catch(() => {});
    return done;
  }

  async function swap(path, targetId) {
    const r = await fetch('/jobs/' + encodeURIComponent(id) + path,
      { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
    if (!r.ok) {
      return false;
    }
    const template = document.createElement('template');
    template.innerHTML = (await r.text()).trim();
    const next = template.content.firstElementChild;
    const current = document.getElementById(targetId);
    if (!next || !current) {
      return false;
    }
    current.replaceWith(next);
    return true;
  }

  let resultsShown = false;

  async function showResults() {
    if (await swap('/results', 'results')) {
      resultsShown = true;
    }
  }

  function refreshResults() {
    return serially(showResults);
  }

  function refreshSummary() {
    return serially(async () => {
      await swap('/summary', 'live');
      const live = document.getElementById('live');
      if (!live) {
        return;
      }
      const num = v => (v === undefined || v === '' ? null : Number(v));
      peaks(num(live.dataset.bpPeak), num(live.dataset.zoPeak));
      memoryChart.update('none');
      // A summary fetched after the job ended (a progress refresh racing the final event) must not show it
      // ended before its results (artifacts, samples, scores) are on the page.
      if (TERMINAL.includes(live.dataset.status) && !resultsShown) {
        await showResults();
      }
      document.body.dataset.jobStatus = live.dataset.status;
    });
  }

  function appendEvent(type, e) {
    const ev = JSON.parse(e.data);
    const li = document.createElement('li');
    li.className = 'level-' + ev.level;
    li.dataset.eventId = String(ev.id);
    const time = document.createElement('time');
    time.dateTime = ev.created_at;
    time.textContent = ev.created_at.substring(11, 19);
    const strong = document.createElement('strong');
    strong.textContent = ev.type;
    li.append(time, ' ', strong, ' ', document.createTextNode(ev.message));
    document.getElementById('events').append(li);
  }

  const TERMINAL = ['succeeded', 'failed', 'cancelled'];
  const TYPES = ['queued', 'claimed', 'resumed', 'progress', 'checkpoint', 'evaluating', 'evaluated',
    'evaluation-skipped', 'cancel_requested', 'released', 'requeued', 'succeeded', 'cancelled', 'failed'];
  let pending = null;

  function follow() {
    const source = new EventSource('/v1/jobs/' + encodeURIComponent(id) + '/events?after=' + data.last_event_id);
    document.body.dataset.stream = 'open';
    for (const type of TYPES) {
      source.addEventListener(type, e => {
        appendEvent(type, e);
        if (TERMINAL.includes(type)) {
          // The stream ends after the final event; without close() the browser would reconnect forever.
          source.close();
          document.body.dataset.stream = 'closed';
          loadMetrics().then(refreshResults).then(refreshSummary);
          return;
        }
        if (!pending) {
          pending = setTimeout(() => {
            pending = null;
            loadMetrics();
            refreshSummary();
          }, 500);
        }
      });
    }
  }

  document.body.dataset.jobStatus = data.status;
  loadMetrics();
  if (!data.terminal) {
    follow();
  }
})();
