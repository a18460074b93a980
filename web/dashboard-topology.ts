/**
 * The topology graph (plain JS in the page's script scope): callers →
 * routers → services → servers over the last minute. Each node has its own
 * slot (no two labels overlap), names are cut to the box with the full name
 * on hover, links carry no text (their figures are on hover and in the table
 * below), empty names (a request no router matched) make no placeholder node,
 * and each node shows its 4xx apart from its 5xx.
 */
export const DASHBOARD_TOPOLOGY_JS = String.raw`
function shortPct(k, n) {
  if (!n || !k) return '0';
  var p = (k / n) * 100;
  return p < 1 ? '<1%' : Math.round(p) + '%';
}
function graph(rows) {
  var cols = [[], [], [], []], stats = [{}, {}, {}, {}];
  var keyOf = function (r) { return [r.caller, r.router, r.service, r.server]; };
  rows.forEach(function (r) {
    var ok = r.success == null ? 0 : r.success * r.requests;
    keyOf(r).forEach(function (k, c) {
      if (!k) return;
      var s = stats[c][k];
      if (!s) { s = stats[c][k] = { rps: 0, req: 0, ok: 0, c4: 0 }; cols[c].push(k); }
      s.rps += r.rps; s.req += r.requests; s.ok += ok; s.c4 += r.clientErrors || 0;
    });
  });
  if (cols[0].length === 0) return '';
  var index = [{}, {}, {}, {}];
  cols.forEach(function (col, c) {
    col.sort(function (a, b) { return stats[c][b].rps - stats[c][a].rps || (a < b ? -1 : 1); });
    col.forEach(function (k, i) { index[c][k] = i; });
  });
  var BW = 190, BH = 36, GAP = 12, GX = 70, TOP = 24;
  var rowsMax = Math.max.apply(null, cols.map(function (c) { return c.length; }));
  var W = 20 + 4 * BW + 3 * GX, H = TOP + rowsMax * (BH + GAP) + 4;
  var xs = [10, 10 + BW + GX, 10 + 2 * (BW + GX), 10 + 3 * (BW + GX)];
  var y = function (c, i) { var total = cols[c].length * (BH + GAP) - GAP; return TOP + (H - TOP - 4 - total) / 2 + i * (BH + GAP); };
  var links = {};
  rows.forEach(function (r) {
    var parts = [];
    keyOf(r).forEach(function (k, c) { if (k) parts.push([c, k]); });
    for (var j = 0; j + 1 < parts.length; j++) {
      var a = parts[j], b = parts[j + 1], id = a[0] + '|' + a[1] + '|' + b[0] + '|' + b[1];
      var l = links[id] || (links[id] = { a: a, b: b, rps: 0, req: 0, ok: 0, c4: 0 });
      l.rps += r.rps; l.req += r.requests; l.ok += r.success == null ? 0 : r.success * r.requests; l.c4 += r.clientErrors || 0;
    }
  });
  var maxRps = 0;
  Object.keys(links).forEach(function (id) { if (links[id].rps > maxRps) maxRps = links[id].rps; });
  var svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="topology">';
  ['callers', 'routers', 'services', 'servers'].forEach(function (t, c) { svg += '<text x="' + (xs[c] + 4) + '" y="14" class="sub">' + t + '</text>'; });
  Object.keys(links).forEach(function (id) {
    var l = links[id], ca = l.a[0], cb = l.b[0];
    var x1 = xs[ca] + BW, y1 = y(ca, index[ca][l.a[1]]) + BH / 2, x2 = xs[cb], y2 = y(cb, index[cb][l.b[1]]) + BH / 2, mx = (x1 + x2) / 2;
    var s = l.req ? l.ok / l.req : null, color = s == null ? '#98a2b3' : s >= 0.99 ? '#3fb96b' : s >= 0.95 ? '#e0a030' : '#f06a5e';
    var w = 1.5 + (maxRps > 0 ? (l.rps / maxRps) * 6 : 0);
    var tip = l.a[1] + ' → ' + l.b[1] + '\n' + fmtRps(l.rps) + ' · success ' + fmtPct(s) + ' · 4xx ' + shortPct(l.c4, l.req) + ' · 5xx ' + shortPct(l.req - l.ok, l.req);
    svg += '<path d="M' + x1 + ' ' + y1.toFixed(1) + 'C' + mx + ' ' + y1.toFixed(1) + ' ' + mx + ' ' + y2.toFixed(1) + ' ' + x2 + ' ' + y2.toFixed(1) + '" fill="none" stroke="' + color + '" stroke-width="' + w.toFixed(1) + '" opacity="0.75"><title>' + esc(tip) + '</title></path>';
  });
  var maxChars = Math.floor((BW - 12) / 6.3);
  cols.forEach(function (col, c) {
    col.forEach(function (name, i) {
      var st = stats[c][name], top = y(c, i);
      var label = name.length > maxChars ? name.slice(0, maxChars - 1) + '…' : name;
      var c5 = st.req - st.ok;
      var tip = name + '\n' + fmtRps(st.rps) + ' · ' + st.req + ' requests · success ' + fmtPct(st.req ? st.ok / st.req : null) + ' · 4xx ' + st.c4 + ' · 5xx ' + c5;
      svg += '<g><title>' + esc(tip) + '</title><rect class="node" x="' + xs[c] + '" y="' + top.toFixed(1) + '" width="' + BW + '" height="' + BH + '" rx="5"/>' +
        '<text x="' + (xs[c] + 6) + '" y="' + (top + 15).toFixed(1) + '">' + esc(label) + '</text>' +
        '<text class="sub" x="' + (xs[c] + 6) + '" y="' + (top + 29).toFixed(1) + '">' + esc(fmtRps(st.rps)) +
        ' · <tspan class="' + (st.c4 ? 'c4xx' : '') + '">4xx ' + esc(shortPct(st.c4, st.req)) + '</tspan>' +
        ' · <tspan class="' + (c5 > 0.5 ? 'c5xx' : '') + '">5xx ' + esc(shortPct(c5, st.req)) + '</tspan></text></g>';
    });
  });
  return svg + '</svg>';
}
`;
