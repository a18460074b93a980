/**
 * `dashboard@internal`: the web dashboard, served at /dashboard/ where the API
 * is served. `/` redirects to `/dashboard/` as in Traefik.
 */
import { sendText, type Handler } from '../server/context.js';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Gatehouse</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:12px 20px;font-weight:600}
main{padding:16px 20px;max-width:1200px;margin:auto}
section{background:#fff;border-radius:8px;box-shadow:0 1px 2px #0002;margin:12px 0;padding:12px 16px;overflow-x:auto}
table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #eee;text-align:left;font-size:13px;vertical-align:top}
.enabled{color:#127a3a}.warning{color:#a66900}.disabled{color:#b3261e}
</style></head><body><header>Gatehouse</header><main>
<section><h3>Overview</h3><div id="overview">loading…</div></section>
<section><h3>HTTP routers</h3><table id="routers"></table></section>
<section><h3>Services</h3><table id="services"></table></section>
<section><h3>Middlewares</h3><table id="middlewares"></table></section>
</main>
<script>
const esc=(s)=>String(s??'').replace(/[&<>"]/g,(c)=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const row=(cells)=>'<tr>'+cells.map((c)=>'<td>'+c+'</td>').join('')+'</tr>';
async function load(){
  const base=location.pathname.replace(/\\/dashboard\\/?.*$/,'');
  const get=(p)=>fetch(base+'/api/'+p).then((r)=>r.json());
  const [ov,routers,services,mws]=await Promise.all([get('overview'),get('http/routers'),get('http/services'),get('http/middlewares')]);
  const c=ov.http;
  document.getElementById('overview').innerHTML='routers '+c.routers.total+' ('+c.routers.errors+' errors) · services '+c.services.total+' · middlewares '+c.middlewares.total+' · revision '+esc(ov.revision);
  document.getElementById('routers').innerHTML=row(['<b>status</b>','<b>name</b>','<b>rule</b>','<b>entry points</b>','<b>service</b>','<b>errors</b>'])+routers.map((r)=>row(['<span class="'+r.status+'">'+r.status+'</span>',esc(r.name),'<code>'+esc(r.rule)+'</code>',esc((r.entryPoints||[]).join(', ')),esc(r.service),esc((r.error||[]).join('; '))])).join('');
  document.getElementById('services').innerHTML=row(['<b>status</b>','<b>name</b>','<b>type</b>','<b>servers</b>','<b>errors</b>'])+services.map((s)=>row(['<span class="'+s.status+'">'+s.status+'</span>',esc(s.name),esc(s.type),esc(Object.entries(s.serverStatus||{}).map(([u,st])=>u+' '+st).join(', ')),esc((s.error||[]).join('; '))])).join('');
  document.getElementById('middlewares').innerHTML=row(['<b>status</b>','<b>name</b>','<b>type</b>','<b>errors</b>'])+mws.map((m)=>row(['<span class="'+m.status+'">'+m.status+'</span>',esc(m.name),esc(m.type),esc((m.error||[]).join('; '))])).join('');
}
load();setInterval(load,2000);
</script></body></html>`;

export function createDashboardHandler(): Handler {
  const body = Buffer.from(PAGE);
  return (ctx) => {
    if (ctx.path === '/' || ctx.path === '/dashboard') {
      ctx.rw.writeHead(302, { location: '/dashboard/', 'content-length': 0 });
      ctx.rw.end();
      return;
    }
    if (!ctx.path.startsWith('/dashboard/')) {
      sendText(ctx, 404, '404 page not found');
      return;
    }
    ctx.rw.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-cache', 'content-security-policy': "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'" });
    ctx.rw.end(body);
  };
}
