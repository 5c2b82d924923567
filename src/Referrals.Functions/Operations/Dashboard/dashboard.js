(() => {
  'use strict';

  // The key lives in this tab's session storage only: never a URL, never a cookie, never local storage.
  const KEY = 'referrals.operatorKey';
  const REFRESH_MS = 30000;
  const PAGE_SIZE = 25;
  // The page is served at {prefix}/ops; the API sits beside it, whatever the host's route prefix is.
  const base = location.pathname.replace(/\/ops\/?$/, '');
  const $ = (id) => document.getElementById(id);

  const state = { query: null, continuation: null, detailId: null, detail: null, lastLink: null, timer: null };

  class ApiError extends Error {
    constructor(status, title, detail) {
      super(title);
      this.status = status;
      this.title = title;
      this.detail = detail;
    }
  }

  class Unauthorized extends Error {}

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'className') node.className = value;
      else if (name === 'text') node.textContent = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const number = (n) => (typeof n === 'number' && isFinite(n) ? n.toLocaleString('en-US') : '–');
  const orDash = (v) => (v === null || v === undefined || v === '' ? '–' : String(v));
  const yesNo = (v) => (v ? 'Yes' : 'No');

  function utc(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toISOString().slice(0, 16).replace('T', ' ');
  }

  function hourOf(iso) {
    const d = new Date(iso);
    return isNaN(d) ? String(iso) : d.toISOString().slice(11, 16);
  }

  function duration(seconds) {
    if (typeof seconds !== 'number') return '–';
    if (seconds < 90) return `${Math.round(seconds)} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
    return `${Math.round(seconds / 86400)} days`;
  }

  async function api(method, path, options) {
    const key = sessionStorage.getItem(KEY);
    if (!key) {
      askForKey('Enter the operator key to continue.');
      throw new Unauthorized();
    }
    const headers = { 'x-functions-key': key, accept: 'application/json', ...((options && options.headers) || {}) };
    const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
    if (options && options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    let response;
    try {
      response = await fetch(base + path, init);
    } catch {
      throw new ApiError(0, 'The server did not answer.', 'Check the connection and try again.');
    }
    if (response.status === 401) {
      askForKey('The key was not accepted (401). Enter the operator key again.');
      throw new Unauthorized();
    }
    const type = response.headers.get('content-type') || '';
    const data = type.includes('json') ? await response.json().catch(() => null) : null;
    if (!response.ok) {
      // A validation problem names each field's trouble under "errors"; show those when there is no detail.
      const fields = data && data.errors && typeof data.errors === 'object'
        ? Object.entries(data.errors).map(([name, messages]) => `${name}: ${[].concat(messages).join(' ')}`).join(' ')
        : '';
      throw new ApiError(response.status, (data && data.title) || `The request failed (${response.status}).`, (data && data.detail) || fields);
    }
    return data;
  }

  function showProblem(id, error) {
    const box = $(id);
    if (error instanceof Unauthorized) return;
    if (!error) {
      box.hidden = true;
      box.textContent = '';
      return;
    }
    const title = error instanceof ApiError ? error.title : 'Something went wrong in the page.';
    const detail = error instanceof ApiError ? error.detail : String(error && error.message);
    box.textContent = detail ? `${title} ${detail}` : title;
    box.hidden = false;
    if (!(error instanceof ApiError)) console.error(error);
  }

  // ---- key -------------------------------------------------------------------------------------------------------

  function askForKey(message) {
    if (!$('key-view').hidden) {
      // Already asking (several calls can fail at once): keep what the operator is typing.
      $('key-message').textContent = message || '';
      $('key-message').hidden = !message;
      return;
    }
    sessionStorage.removeItem(KEY);
    stopTimer();
    const open = document.querySelector('dialog[open]');
    if (open) open.close();
    clearData();
    $('overview').hidden = true;
    $('detail').hidden = true;
    $('top-actions').hidden = true;
    $('key-view').hidden = false;
    $('key-message').textContent = message || '';
    $('key-message').hidden = !message;
    $('key-input').value = '';
    $('key-input').focus();
  }

  function clearData() {
    for (const id of ['tiles', 'chart-svg', 'timeline', 'facts', 'personal-facts']) $(id).replaceChildren();
    for (const id of ['hourly-table', 'queues-table', 'poison-table', 'list-table', 'emails-table', 'routing-table', 'audit-table']) {
      $(id).tBodies[0].replaceChildren();
    }
    $('chart-text').textContent = '';
    $('personal').hidden = true;
    $('more').hidden = true;
    for (const id of ['list-status', 'poison-status', 'detail-status', 'refreshed']) $(id).textContent = '';
    for (const id of ['summary-problem', 'list-problem', 'poison-problem', 'detail-problem']) showProblem(id, null);
    state.detail = null;
  }

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('key-input').value.trim();
    if (!key) {
      $('key-message').textContent = 'Enter the key.';
      $('key-message').hidden = false;
      $('key-input').focus();
      return;
    }
    sessionStorage.setItem(KEY, key);
    $('key-input').value = '';
    $('key-message').hidden = true;
    showApp(true);
  });

  $('forget').addEventListener('click', () => askForKey('The key is forgotten in this tab. Enter it to open the dashboard again.'));
  $('refresh').addEventListener('click', () => {
    refreshOverview();
    if (!$('detail').hidden && state.detailId) loadDetail(state.detailId);
  });

  async function showApp(focusSummary) {
    $('key-view').hidden = true;
    $('top-actions').hidden = false;
    route();
    // The summary tries the key first; the other calls follow only when it was accepted.
    if (!(await loadSummary())) return;
    loadPoison();
    loadList(true);
    startTimer();
    if (focusSummary && $('detail').hidden) {
      $('summary-heading').setAttribute('tabindex', '-1');
      $('summary-heading').focus();
    }
  }

  // ---- refresh ---------------------------------------------------------------------------------------------------

  function startTimer() {
    stopTimer();
    state.timer = setInterval(() => {
      // Paused while a dialog is open (its figures would move under the operator) and while the tab is hidden.
      if (document.querySelector('dialog[open]') || document.hidden || !sessionStorage.getItem(KEY)) return;
      refreshOverview();
    }, REFRESH_MS);
  }

  function stopTimer() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
  }

  function refreshOverview() {
    loadSummary();
    loadPoison();
  }

  // ---- summary ---------------------------------------------------------------------------------------------------

  /** False when the key was refused. */
  async function loadSummary() {
    try {
      const summary = await api('GET', '/ops/summary');
      showProblem('summary-problem', null);
      renderSummary(summary);
    } catch (error) {
      showProblem('summary-problem', error);
      return !(error instanceof Unauthorized);
    }
    return true;
  }

  function renderSummary(s) {
    const queues = Array.isArray(s.queues) ? s.queues : [];
    const inPoison = queues.reduce((sum, q) => sum + (q.poisonDepth || 0), 0);
    const counts = s.statusCounts || {};
    const period = (p) => p || {};
    const groups = [
      ['Needs attention', [
        ['Waiting in triage', s.waitingInTriage, true],
        ['Past their SLA', s.pastSla, true],
        ['Urgent, not accepted', s.urgentNotAccepted, true],
        ['Failed', counts.Failed ?? counts.failed, true],
        ['In poison queues', inPoison, true],
      ]],
      ['Last 24 hours', [
        ['Received', period(s.last24h).received], ['Routed', period(s.last24h).routed],
        ['Accepted', period(s.last24h).accepted], ['Failed', period(s.last24h).failed, true],
      ]],
      ['Last 7 days', [
        ['Received', period(s.last7d).received], ['Routed', period(s.last7d).routed],
        ['Accepted', period(s.last7d).accepted], ['Failed', period(s.last7d).failed, true],
      ]],
      ['Emails, last 24 hours', [
        ['Sent', period(s.emails24h).sent], ['Failed', period(s.emails24h).failed, true], ['Bounced', period(s.emails24h).bounced, true],
      ]],
      [s.statusCountsSince ? `Referrals by status, received since ${utc(s.statusCountsSince).slice(0, 10)}` : 'Referrals by status',
        Object.entries(counts).map(([name, n]) => [name, n])],
    ];
    $('tiles').replaceChildren(...groups.map(([title, tiles], i) => {
      const headingId = `tiles-${i}`;
      return el('section', { className: 'tile-group', 'aria-labelledby': headingId },
        el('h3', { id: headingId, text: title }),
        el('dl', { className: 'tiles' }, ...tiles.map(([label, value, warn]) =>
          el('div', { className: warn && value > 0 ? 'tile alert' : 'tile' }, el('dt', { text: label }), el('dd', { text: number(value) })))));
    }));

    renderChart(Array.isArray(s.hourly) ? s.hourly : []);
    $('queues-table').tBodies[0].replaceChildren(...(queues.length ? queues.map((q) => el('tr', null,
      el('td', { text: q.name }), el('td', { className: 'num', text: number(q.depth) }),
      el('td', { className: 'num', text: number(q.poisonDepth) }), el('td', { text: duration(q.oldestWaitingSeconds) })))
      : [emptyRow(4, 'No queues reported.')]));
    $('refreshed').textContent = `Figures from ${utc(s.generatedAt)} UTC`;
  }

  function emptyRow(columns, text) {
    return el('tr', null, el('td', { colspan: columns, className: 'empty', text }));
  }

  // A hand-drawn bar chart: three bars an hour. The table below it carries the same figures for screen readers.
  function renderChart(hours) {
    const svg = $('chart-svg');
    const ns = svg.namespaceURI; // the SVG namespace, taken from the parsed element rather than written out
    const node = (tag, attrs, text) => {
      const n = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
      if (text !== undefined) n.textContent = text;
      return n;
    };
    const series = ['received', 'notified', 'failed'];
    const width = 720, height = 240, left = 40, right = 8, top = 10, bottom = 30;
    const plotW = width - left - right, plotH = height - top - bottom;
    const max = Math.max(1, ...hours.flatMap((h) => series.map((k) => h[k] || 0)));
    const step = Math.max(1, Math.ceil(max / 4));
    const yMax = step * 4;
    const y = (v) => top + plotH - (v / yMax) * plotH;
    const parts = [];
    for (let v = 0; v <= yMax; v += step) {
      parts.push(node('line', { class: 'grid', x1: left, x2: width - right, y1: y(v), y2: y(v) }));
      parts.push(node('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
    }
    const slot = plotW / Math.max(hours.length, 1);
    const bar = Math.max(1, (slot - 4) / 3);
    hours.forEach((h, i) => {
      const x0 = left + i * slot + 2;
      series.forEach((k, j) => {
        const v = h[k] || 0;
        const rect = node('rect', { class: k, x: x0 + j * bar, y: y(v), width: Math.max(bar - 1, 1), height: Math.max(top + plotH - y(v), 0) });
        rect.append(node('title', {}, `${hourOf(h.hour)} UTC: ${v} ${k}`));
        parts.push(rect);
      });
      if (i % 3 === 0) parts.push(node('text', { x: x0 + slot / 2 - 2, y: height - 10, 'text-anchor': 'middle' }, hourOf(h.hour)));
    });
    parts.push(node('line', { class: 'axis', x1: left, x2: width - right, y1: top + plotH, y2: top + plotH }));
    svg.replaceChildren(...parts);

    const total = (k) => hours.reduce((sum, h) => sum + (h[k] || 0), 0);
    const busiest = hours.reduce((best, h) => (!best || (h.received || 0) > (best.received || 0) ? h : best), null);
    $('chart-text').textContent = hours.length
      ? `Received ${total('received')}, notified ${total('notified')}, failed ${total('failed')}.` +
        (busiest && busiest.received ? ` The busiest hour was ${hourOf(busiest.hour)} UTC with ${busiest.received} received.` : '')
      : 'No hourly figures yet.';
    $('hourly-table').tBodies[0].replaceChildren(...hours.map((h) => el('tr', null,
      el('th', { scope: 'row', text: hourOf(h.hour) }), el('td', { className: 'num', text: number(h.received) }),
      el('td', { className: 'num', text: number(h.notified) }), el('td', { className: 'num', text: number(h.failed) }))));
  }

  // ---- parked (poison) messages -----------------------------------------------------------------------------------

  async function loadPoison() {
    try {
      const data = await api('GET', '/ops/poison');
      showProblem('poison-problem', null);
      const messages = (data && data.messages) || [];
      $('poison-table').tBodies[0].replaceChildren(...(messages.length ? messages.map(poisonRow) : [emptyRow(4, 'No parked messages.')]));
    } catch (error) {
      showProblem('poison-problem', error);
    }
  }

  function poisonRow(m) {
    const who = m.referralId || 'an unknown referral';
    const button = (action, label) => {
      const b = el('button', { type: 'button', className: action === 'discard' ? 'small danger' : 'small', 'aria-label': `${label} the message for ${who} from ${m.queue}`, text: label });
      b.addEventListener('click', () => resolvePoison(m, action, b));
      return b;
    };
    return el('tr', null,
      el('td', { text: m.queue }),
      el('td', null, m.referralId ? el('a', { href: `#referral=${m.referralId}`, text: m.referralId }) : '–'),
      el('td', { text: utc(m.parkedAt) }),
      el('td', null, button('replay', 'Replay'), button('discard', 'Discard')));
  }

  function resolvePoison(m, action, opener) {
    const who = m.referralId || 'an unknown referral';
    openDialog({
      title: action === 'replay' ? 'Replay a parked message' : 'Discard a parked message',
      text: action === 'replay'
        ? `The message for ${who} goes back on ${m.queue}, and the referral leaves Failed.`
        : `The message for ${who} from ${m.queue} is dropped. The referral stays Failed.`,
      confirm: action === 'replay' ? 'Replay' : 'Discard',
      danger: action === 'discard',
      opener,
      fallback: $('poison-heading'),
      run: async ({ reason }) => {
        await api('POST', `/ops/poison/${encodeURIComponent(m.queue)}/${encodeURIComponent(m.id)}/${action}`, { body: { reason } });
        $('poison-status').textContent = action === 'replay' ? `Replayed the message for ${who}.` : `Discarded the message for ${who}.`;
        refreshOverview();
      },
    });
  }

  // ---- list ------------------------------------------------------------------------------------------------------

  function filterQuery() {
    const query = new URLSearchParams();
    for (const field of $('filters').elements) {
      if (field.name && field.value.trim()) query.set(field.name, field.value.trim());
    }
    query.set('pageSize', String(PAGE_SIZE));
    return query;
  }

  async function loadList(fresh) {
    if (fresh) {
      state.query = filterQuery();
      state.continuation = null;
    }
    const query = new URLSearchParams(state.query);
    if (!fresh && state.continuation) query.set('continuation', state.continuation);
    $('more').disabled = true;
    try {
      const page = await api('GET', `/ops/referrals?${query}`);
      showProblem('list-problem', null);
      const items = (page && page.items) || [];
      const body = $('list-table').tBodies[0];
      if (fresh) body.replaceChildren();
      body.append(...items.map(listRow));
      if (!body.rows.length) body.append(emptyRow(9, 'No referrals match these filters.'));
      state.continuation = (page && page.continuation) || null;
      $('more').hidden = !state.continuation;
      const shown = body.querySelectorAll('a').length;
      $('list-status').textContent = `${shown} referral${shown === 1 ? '' : 's'} shown${state.continuation ? '; more match' : ''}.`;
    } catch (error) {
      showProblem('list-problem', error);
    } finally {
      $('more').disabled = false;
    }
  }

  // Each cell carries its column's name, shown beside it when a phone lays the rows out as cards.
  const listColumns = [...document.querySelectorAll('#list-table thead th')].map((th) => th.textContent);

  function listRow(r) {
    const cells = [
      el('a', { href: `#referral=${r.id}`, text: r.id }),
      utc(r.receivedAt),
      r.status,
      orDash(r.specialistId),
      orDash(r.treatment),
      orDash(r.topic),
      orDash(r.sourcePost),
      r.urgent ? el('span', { className: 'badge urgent', text: 'Urgent' }) : 'No',
      r.pastSla ? el('span', { className: 'badge late', text: 'Past SLA' }) : 'No',
    ];
    return el('tr', null, ...cells.map((cell, i) => el('td', { 'data-label': listColumns[i] }, el('span', null, cell))));
  }

  $('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    loadList(true);
  });
  $('filters').addEventListener('reset', () => setTimeout(() => loadList(true), 0));
  $('more').addEventListener('click', () => loadList(false));

  // ---- detail ----------------------------------------------------------------------------------------------------

  // Only an id ever goes in the hash: never a name, a filter or anything else a history or a log could keep.
  function route() {
    if (!sessionStorage.getItem(KEY)) return;
    const match = /^#referral=([A-Za-z0-9-]{1,40})$/.exec(location.hash);
    if (match) {
      state.lastLink = document.activeElement && document.activeElement.tagName === 'A' ? document.activeElement.getAttribute('href') : state.lastLink;
      $('overview').hidden = true;
      $('detail').hidden = false;
      state.detailId = match[1];
      $('detail-heading').textContent = `Referral ${match[1]}`;
      $('detail-status').textContent = '';
      hidePersonal();
      $('detail-heading').focus();
      loadDetail(match[1]);
    } else {
      const wasDetail = !$('detail').hidden;
      state.detailId = null;
      state.detail = null;
      hidePersonal();
      $('detail').hidden = true;
      $('overview').hidden = false;
      if (wasDetail) {
        const back = state.lastLink && [...document.querySelectorAll('#overview a')].find((a) => a.getAttribute('href') === state.lastLink);
        (back || $('list-heading')).focus();
      }
    }
  }

  window.addEventListener('hashchange', route);
  $('back').addEventListener('click', (event) => {
    event.preventDefault();
    history.pushState(null, '', location.pathname + location.search);
    route();
  });

  async function loadDetail(id) {
    for (const button of $('detail-actions').querySelectorAll('button')) button.disabled = true;
    try {
      const detail = await api('GET', `/ops/referrals/${encodeURIComponent(id)}`);
      if (state.detailId !== id) return;
      showProblem('detail-problem', null);
      state.detail = detail;
      renderDetail(detail);
    } catch (error) {
      if (state.detailId === id) {
        for (const id of ['facts', 'timeline']) $(id).replaceChildren();
        for (const id of ['emails-table', 'routing-table', 'audit-table']) $(id).tBodies[0].replaceChildren();
        showProblem('detail-problem', error);
      }
    }
  }

  function facts(list) {
    return list.map(([label, value]) => el('div', null, el('dt', { text: label }), el('dd', { text: orDash(value) })));
  }

  function renderDetail(d) {
    $('facts').replaceChildren(...facts([
      ['Status', d.status], ['Received (UTC)', utc(d.receivedAt)], ['Urgent', yesNo(d.urgent)], ['Past its SLA', yesNo(d.pastSla)],
      ['Treatment', d.treatment], ['Topic', d.topic], ['Source post', d.sourcePost], ['Specialist', d.specialistId],
      ['Assignment', d.assignment], ['Erased', yesNo(d.erased)],
    ]));
    const timeline = Array.isArray(d.timeline) ? d.timeline : [];
    $('timeline').replaceChildren(...(timeline.length ? timeline.map((t) => el('li', null,
      el('time', { datetime: t.at, text: `${utc(t.at)} UTC` }), el('span', { className: 'badge', text: t.kind }), ' ', t.summary))
      : [el('li', { text: 'Nothing recorded yet.' })]));
    const emails = Array.isArray(d.emails) ? d.emails : [];
    $('emails-table').tBodies[0].replaceChildren(...(emails.length ? emails.map((e) => el('tr', null,
      el('td', { text: e.kind }), el('td', { text: orDash(e.state) }), el('td', { text: utc(e.sentAt) }),
      el('td', { text: (e.events || []).map((v) => `${v.event} ${utc(v.at)}`).join('; ') || orDash(e.lastEvent) })))
      : [emptyRow(4, 'No emails.')]));
    const routing = Array.isArray(d.routing) ? d.routing : [];
    $('routing-table').tBodies[0].replaceChildren(...(routing.length ? routing.map((r) => el('tr', null,
      el('td', { text: utc(r.at) }), el('td', { text: orDash(r.assignment) }), el('td', { text: orDash(r.specialistId) }), el('td', { text: orDash(r.explanation) })))
      : [emptyRow(4, 'No routing decisions.')]));
    const audit = Array.isArray(d.audit) ? d.audit : [];
    $('audit-table').tBodies[0].replaceChildren(...(audit.length ? audit.map((a) => el('tr', null,
      el('td', { text: utc(a.at) }), el('td', { text: orDash(a.keyName) }), el('td', { text: a.action }), el('td', { text: orDash(a.reason) })))
      : [emptyRow(4, 'No operator actions.')]));

    const closed = d.erased || d.status === 'Withdrawn' || d.status === 'Duplicate';
    $('act-assign').disabled = d.status !== 'NeedsTriage';
    $('act-reroute').disabled = closed || d.status === 'Accepted';
    $('act-resend').disabled = closed || !emails.length;
    $('act-erase').disabled = closed;
    $('act-personal').disabled = !!d.erased;
  }

  function hidePersonal() {
    $('personal-facts').replaceChildren();
    $('personal').hidden = true;
  }

  $('hide-personal').addEventListener('click', () => {
    hidePersonal();
    $('act-personal').focus();
  });

  function referralAction(path, body, done) {
    return async (input) => {
      const id = state.detailId;
      const result = await api('POST', `/ops/referrals/${encodeURIComponent(id)}/${path}`, { body: { ...body(input), reason: input.reason } });
      $('detail-status').textContent = done(result || {});
      hidePersonal();
      await loadDetail(id);
      refreshOverview();
    };
  }

  $('act-assign').addEventListener('click', (event) => openDialog({
    title: 'Assign to a specialist',
    text: `Offer ${state.detailId} to the specialist you name. Their capacity is checked unless you override it.`,
    confirm: 'Assign',
    fields: 'assign',
    opener: event.currentTarget,
    run: referralAction('assign', (i) => ({ specialistId: i.specialistId, overrideCapacity: i.overrideCapacity }),
      (r) => `Assigned to ${r.specialistId || 'the specialist'}; the status is now ${r.status || 'updated'}.`),
  }));

  $('act-reroute').addEventListener('click', (event) => openDialog({
    title: 'Route again',
    text: `Run routing again for ${state.detailId}. An open offer is withdrawn first.`,
    confirm: 'Route again',
    opener: event.currentTarget,
    run: referralAction('reroute', () => ({}), (r) => `Routed again; the status is now ${r.status || 'updated'}${r.specialistId ? ` with ${r.specialistId}` : ''}.`),
  }));

  $('act-resend').addEventListener('click', (event) => {
    const emails = (state.detail && state.detail.emails) || [];
    const troubled = emails.find((e) => /bounce|fail|drop/i.test(`${e.state} ${e.lastEvent}`)) || emails[0];
    openDialog({
      title: 'Resend an email',
      text: `Send one email of ${state.detailId} again, for example after a bounced address was corrected.`,
      confirm: 'Resend',
      fields: 'resend',
      kind: troubled && troubled.kind,
      opener: event.currentTarget,
      run: referralAction('resend', (i) => ({ kind: i.kind }), (r) => `The ${r.kind || 'email'} is queued to be sent again.`),
    });
  });

  $('act-erase').addEventListener('click', (event) => openDialog({
    title: 'Withdraw and erase',
    text: `Withdraw ${state.detailId} on the visitor's behalf and erase their personal details. This cannot be undone.`,
    confirm: 'Withdraw and erase',
    danger: true,
    opener: event.currentTarget,
    run: referralAction('erase', () => ({}), () => 'Withdrawn, and the personal details are erased.'),
  }));

  $('act-personal').addEventListener('click', (event) => openDialog({
    title: 'Show personal details',
    text: `Viewing ${state.detailId}'s personal details is recorded in the audit log with your reason.`,
    confirm: 'Show',
    opener: event.currentTarget,
    fallback: $('personal-heading'),
    run: async ({ reason }) => {
      // Headers carry Latin-1 only; the reason travels in one because URLs get logged.
      if (!/^[\x20-\x7e\xa0-\xff]*$/.test(reason)) {
        throw new ApiError(400, 'Use plain letters, digits and punctuation in this reason.', '');
      }
      const id = state.detailId;
      const d = await api('GET', `/ops/referrals/${encodeURIComponent(id)}?personal=true`, { headers: { 'X-Audit-Reason': reason } });
      if (state.detailId !== id) return;
      const p = (d && d.personal) || {};
      $('personal-facts').replaceChildren(...facts([
        ['Name', p.name], ['Email', p.email], ['Phone', p.phone], ['State', p.state], ['Insurance', p.insurance],
        ['Preferred contact', p.contactMethod], ['Language', p.language], ['Message', p.message],
      ]));
      $('personal').hidden = false;
      state.detail = d;
      renderDetail(d);
    },
  }));

  // ---- the action dialog -----------------------------------------------------------------------------------------

  const dialog = $('action-dialog');
  let current = null;

  function openDialog(options) {
    current = options;
    $('dialog-title').textContent = options.title;
    $('dialog-text').textContent = options.text;
    $('dialog-confirm').textContent = options.confirm;
    $('dialog-confirm').className = options.danger ? 'danger' : '';
    $('dialog-confirm').disabled = false;
    $('assign-fields').hidden = options.fields !== 'assign';
    $('resend-fields').hidden = options.fields !== 'resend';
    $('d-specialist').value = '';
    $('d-override').checked = false;
    $('d-kind').selectedIndex = Math.max(0, [...$('d-kind').options].findIndex((o) => o.value === options.kind));
    $('d-reason').value = '';
    for (const id of ['d-specialist', 'd-reason']) $(id).removeAttribute('aria-invalid');
    showProblem('dialog-problem', null);
    dialog.showModal();
    (options.fields === 'assign' ? $('d-specialist') : options.fields === 'resend' ? $('d-kind') : $('d-reason')).focus();
  }

  function invalid(id, message) {
    $(id).setAttribute('aria-invalid', 'true');
    showProblem('dialog-problem', new ApiError(400, message, ''));
    $(id).focus();
  }

  $('dialog-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const options = current;
    const input = {
      reason: $('d-reason').value.trim(),
      specialistId: $('d-specialist').value.trim(),
      overrideCapacity: $('d-override').checked,
      kind: $('d-kind').value,
    };
    if (options.fields === 'assign' && !input.specialistId) return invalid('d-specialist', 'Enter the specialist id, such as sp-001.');
    if (!input.reason || input.reason.length > 500) return invalid('d-reason', 'Give a reason, up to 500 characters.');
    $('dialog-confirm').disabled = true;
    try {
      await options.run(input);
      if (current === options) dialog.close();
    } catch (error) {
      if (!(error instanceof Unauthorized)) {
        showProblem('dialog-problem', error);
        $('dialog-confirm').disabled = false;
      }
    }
  });

  $('dialog-cancel').addEventListener('click', () => dialog.close());

  // Focus goes back to what opened the dialog, or near it when a refresh replaced that control.
  dialog.addEventListener('close', () => {
    const options = current;
    current = null;
    if (!options || !sessionStorage.getItem(KEY)) return;
    const target = options.opener && options.opener.isConnected && !options.opener.disabled && options.opener.offsetParent !== null
      ? options.opener
      : options.fallback && options.fallback.offsetParent !== null ? options.fallback : $('detail').hidden ? $('list-heading') : $('detail-heading');
    if (target.tabIndex < 0 && !target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
    target.focus();
  });

  // ---- start -----------------------------------------------------------------------------------------------------

  if (sessionStorage.getItem(KEY)) showApp(false);
  else $('key-input').focus();
})();
