/**
 * Charts of the dashboard (plain JS inside the page's one script scope, see
 * src/admin/dashboard.ts): time charts with axes and units, a legend, a
 * hover cursor with the values, and sparklines. Drawn as SVG at the size of
 * their container (no scaling of text); times in the browser's locale and time
 * zone. No inline style attributes (the CSP forbids them): colours are classes,
 * positions set through the CSSOM.
 */
export const DASHBOARD_CHARTS_JS = String.raw`
var chartState = {};
var TZ_NAME = (function () { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; } })();
function tzShort(t) {
  try {
    var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(new Date(t));
    for (var i = 0; i < parts.length; i++) if (parts[i].type === 'timeZoneName') return parts[i].value;
  } catch (e) { /* older engines */ }
  return '';
}
function tzLabel() { var s = tzShort(Date.now()); return TZ_NAME ? TZ_NAME + (s ? ' (' + s + ')' : '') : s; }
function fmtClock(t, seconds) { return new Date(t).toLocaleTimeString([], seconds ? { hour: '2-digit', minute: '2-digit', second: '2-digit' } : { hour: '2-digit', minute: '2-digit' }); }
function fmtWhen(t) {
  return new Date(t).toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
}
function niceStep(raw) {
  var p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}
var TIME_STEPS = [5e3, 1e4, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5];
function lineOf(pts, get, x, y) {
  var d = '', pen = false;
  for (var i = 0; i < pts.length; i++) {
    var v = get(pts[i]);
    if (v == null || !isFinite(v)) { pen = false; continue; }
    d += (pen ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1) + (pen ? '' : 'l0.01 0');
    pen = true;
  }
  return d;
}
/**
 * o: { id, title, fmt (value → text with unit), axisFmt (tick → text), points [{t, …}], stepMs,
 *      series [{ name, get(p) → number|null, cls: 1..4 }], yMin, yMax }
 */
function renderChart(el, o) {
  var box = el.querySelector('.chart[data-chart="' + o.id + '"]');
  if (!box) {
    box = document.createElement('div');
    box.className = 'chart';
    box.setAttribute('data-chart', o.id);
    el.appendChild(box);
  }
  var W = Math.max(240, Math.round(box.clientWidth || el.clientWidth || 300)), H = 170, L = 52, R = 8, T = 8, B = 22;
  var pw = W - L - R, ph = H - T - B, pts = o.points, n = pts.length;
  var lo = o.yMin != null ? o.yMin : 0, hi = 0;
  pts.forEach(function (p) { o.series.forEach(function (s) { var v = s.get(p); if (v != null && isFinite(v) && v > hi) hi = v; }); });
  if (o.yMax != null) hi = o.yMax;
  if (!(hi > lo)) hi = lo + (o.emptyMax || 1);
  // A fixed top (100 %) is kept: its ticks divide the range in four; otherwise round the top up.
  var step = o.yMax != null ? (hi - lo) / 4 : niceStep((hi - lo) / 4);
  hi = lo + Math.ceil((hi - lo) / step - 1e-9) * step;
  var x = function (i) { return L + (n > 1 ? (i / (n - 1)) * pw : pw); };
  var y = function (v) { return T + ph - ((Math.min(v, hi) - lo) / (hi - lo)) * ph; };
  var svg = '<svg class="plot" viewBox="0 0 ' + W + ' ' + H + '" width="' + W + '" height="' + H + '" role="img" aria-label="' + esc(o.title) + '"><g class="grid">';
  var ticks = '';
  for (var v = lo; v <= hi + step / 2; v += step) {
    svg += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y(v).toFixed(1) + '" y2="' + y(v).toFixed(1) + '"/>';
    ticks += '<text class="axis" x="' + (L - 5) + '" y="' + (y(v) + 3).toFixed(1) + '" text-anchor="end">' + esc((o.axisFmt || o.fmt)(v)) + '</text>';
  }
  svg += '</g>' + ticks;
  if (n > 1) {
    var t0 = pts[0].t, t1 = pts[n - 1].t, span = t1 - t0, iv = TIME_STEPS[TIME_STEPS.length - 1];
    for (var k = 0; k < TIME_STEPS.length; k++) if ((span / TIME_STEPS[k]) * 70 <= pw) { iv = TIME_STEPS[k]; break; }
    var off = -new Date(t0).getTimezoneOffset() * 60000;
    for (var t = Math.ceil((t0 + off) / iv) * iv - off; t <= t1; t += iv) {
      var tx = L + ((t - t0) / span) * pw;
      svg += '<line class="cursor" x1="' + tx.toFixed(1) + '" x2="' + tx.toFixed(1) + '" y1="' + (T + ph) + '" y2="' + (T + ph + 4) + '"/>';
      svg += '<text class="axis" x="' + tx.toFixed(1) + '" y="' + (H - 6) + '" text-anchor="middle">' + esc(fmtClock(t, iv < 6e4)) + '</text>';
    }
  }
  svg += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + (T + ph) + '" y2="' + (T + ph) + '" class="s0" stroke="currentColor" opacity="0.3"/>';
  o.series.forEach(function (s) {
    var d = lineOf(pts, s.get, x, y);
    if (d) svg += '<path class="line s' + s.cls + '" d="' + d + '"/>';
  });
  svg += '<line class="cursor hidden" x1="0" x2="0" y1="' + T + '" y2="' + (T + ph) + '"/>';
  o.series.forEach(function (s) { svg += '<circle class="dot hidden f' + s.cls + '" r="3" cx="0" cy="0"/>'; });
  svg += '</svg>';
  // The legend gives each series' latest value (the current slice may have none yet).
  var latest = function (s) { for (var i = n - 1; i >= 0; i--) { var v = s.get(pts[i]); if (v != null && isFinite(v)) return v; } return null; };
  var legend = o.series.map(function (s) { return '<span><i class="s' + s.cls + '"></i>' + esc(s.name) + ' ' + esc(o.fmt(latest(s))) + '</span>'; }).join('');
  box.innerHTML = '<h3>' + esc(o.title) + '</h3>' + svg + '<div class="legend">' + legend + '<span>· ' + esc(stepText(o.stepMs)) + '</span></div><div class="tip hidden"></div>';
  // A pointer resting on the chart keeps its values through the re-render every 2 s.
  var held = chartState[o.id] ? chartState[o.id].hover : null;
  chartState[o.id] = { o: o, x: x, y: y, L: L, pw: pw, n: n, W: W, hover: null };
  if (held != null) hover(box, held);
}
function stepText(ms) { return !ms ? '' : ms < 6e4 ? (ms / 1000) + '-second points' : ms < 36e5 ? (ms / 6e4) + '-minute points' : (ms / 36e5) + '-hour points'; }
function hover(box, clientX) {
  var st = chartState[box.getAttribute('data-chart')];
  if (!st || st.n === 0) return;
  var svg = box.querySelector('svg.plot'), r = svg.getBoundingClientRect();
  var px = ((clientX - r.left) / r.width) * st.W;
  var i = st.n > 1 ? Math.round(((px - st.L) / st.pw) * (st.n - 1)) : 0;
  i = Math.max(0, Math.min(st.n - 1, i));
  var p = st.o.points[i], cx = st.x(i);
  var cur = svg.querySelector('line.cursor.hidden, line.cursor.on');
  if (cur) { cur.setAttribute('x1', cx); cur.setAttribute('x2', cx); cur.setAttribute('class', 'cursor on'); }
  var dots = svg.querySelectorAll('circle.dot');
  st.o.series.forEach(function (s, k) {
    var v = s.get(p), dot = dots[k];
    if (!dot) return;
    if (v == null || !isFinite(v)) { dot.setAttribute('class', 'dot hidden f' + s.cls); return; }
    dot.setAttribute('cx', cx); dot.setAttribute('cy', st.y(v)); dot.setAttribute('class', 'dot f' + s.cls);
  });
  var tip = box.querySelector('.tip');
  tip.innerHTML = esc(fmtWhen(p.t)) + '<br>' + st.o.series.map(function (s) { return '<i class="s' + s.cls + '"></i> ' + esc(s.name) + ': <b>' + esc(st.o.fmt(s.get(p))) + '</b>'; }).join('<br>');
  tip.className = 'tip';
  var bw = box.clientWidth, left = (cx / st.W) * r.width + 10;
  if (left + tip.offsetWidth > bw) left = Math.max(0, (cx / st.W) * r.width - tip.offsetWidth - 10);
  tip.style.left = left + 'px';
  tip.style.top = '24px';
  st.hover = clientX;
}
function unhover(box) {
  var st = chartState[box.getAttribute('data-chart')];
  if (st) st.hover = null;
  var tip = box.querySelector('.tip');
  if (tip) tip.className = 'tip hidden';
  var cur = box.querySelector('line.cursor.on');
  if (cur) cur.setAttribute('class', 'cursor hidden');
  Array.prototype.forEach.call(box.querySelectorAll('circle.dot'), function (d) { d.setAttribute('class', d.getAttribute('class').replace(/^dot( hidden)?/, 'dot hidden')); });
}
document.addEventListener('pointermove', function (ev) {
  var box = ev.target && ev.target.closest ? ev.target.closest('.chart') : null;
  document.querySelectorAll('.chart').forEach(function (b) { if (b !== box && chartState[b.getAttribute('data-chart')] && chartState[b.getAttribute('data-chart')].hover != null) unhover(b); });
  if (box && ev.target.closest('svg.plot')) hover(box, ev.clientX);
});
/** A sparkline of one figure over the points (no axes: the card shows the value). */
function spark(pts, get, cls, fmt) {
  var vals = pts.map(get), max = 0, min = Infinity, n = pts.length;
  vals.forEach(function (v) { if (v != null && isFinite(v)) { if (v > max) max = v; if (v < min) min = v; } });
  if (!n || min === Infinity) return '<svg class="spark" viewBox="0 0 100 24" preserveAspectRatio="none"><title>no data</title></svg>';
  var lo = min === max ? 0 : Math.max(0, min - (max - min) * 0.1), hi = max > lo ? max : lo + 1;
  var d = lineOf(pts, get, function (i) { return n > 1 ? (i / (n - 1)) * 100 : 100; }, function (v) { return 22 - ((v - lo) / (hi - lo)) * 20; });
  var title = fmt ? 'min ' + fmt(min) + ' · max ' + fmt(max) + ' · ' + fmtClock(pts[0].t) + '–' + fmtClock(pts[n - 1].t) : '';
  return '<svg class="spark" viewBox="0 0 100 24" preserveAspectRatio="none"><title>' + esc(title) + '</title><path class="line s' + cls + '" vector-effect="non-scaling-stroke" d="' + d + '"/></svg>';
}
/** The three charts of a series of points: requests per second (4xx and failures apart), success (not 5xx), latency. */
function trafficCharts(el, prefix, pts, stepMs) {
  var minOk = 1;
  pts.forEach(function (p) { if (p.requests) minOk = Math.min(minOk, p.successes / p.requests); });
  var lo = minOk >= 0.99 ? 0.98 : minOk >= 0.9 ? 0.9 : minOk >= 0.6 ? 0.6 : 0;
  var share = function (p, k) { return p.rps == null ? null : p.requests ? (p.rps * k) / p.requests : 0; };
  renderChart(el, { id: prefix + '-rps', title: 'Requests per second', fmt: fmtRps, axisFmt: fmtNum, points: pts, stepMs: stepMs,
    series: [{ name: 'all', cls: 1, get: function (p) { return p.rps; } },
      { name: '4xx', cls: 3, get: function (p) { return share(p, p.clientErrors || 0); } },
      { name: '5xx / failed', cls: 4, get: function (p) { return share(p, p.requests - p.successes); } }] });
  renderChart(el, { id: prefix + '-ok', title: 'Success rate (not 5xx)', fmt: fmtPct, axisFmt: fmtPctShort, points: pts, stepMs: stepMs, yMin: lo, yMax: 1,
    series: [{ name: 'success', cls: 2, get: function (p) { return p.requests ? p.successes / p.requests : null; } }] });
  renderChart(el, { id: prefix + '-lat', title: 'Latency', fmt: fmtMs, axisFmt: fmtMs, points: pts, stepMs: stepMs, emptyMax: 10,
    series: [{ name: 'p50', cls: 2, get: function (p) { return p.p50; } }, { name: 'p95', cls: 3, get: function (p) { return p.p95; } }, { name: 'p99', cls: 4, get: function (p) { return p.p99; } }] });
}
`;
