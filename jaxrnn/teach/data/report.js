// The HTML report's script (jaxrnn.teach.report_html inlines it): per model section,
// the controls (field, unit, step) redraw the token strip, the heatmap, the cell
// diagram's numbers and the narration shown, from the section's JSON data.
(function () {
  const tip = document.getElementById('tip');
  function colour(v, signed) {
    if (signed) {
      v = Math.max(-1, Math.min(1, v));
      if (v < 0) { const a = Math.floor(255 * (1 + v)); return `rgb(255,${a},${a})`; }
      return `rgb(${Math.floor(255 * (1 - v))},${Math.floor(255 * (1 - 0.6 * v))},255)`;
    }
    v = Math.max(0, Math.min(1, v));
    return `rgb(${Math.floor(255 * (1 - 0.85 * v))},${Math.floor(255 * (1 - 0.6 * v))},255)`;
  }
  const f3 = (v) => (Math.abs(v) < 0.0005 ? 0 : v).toFixed(3);
  function setup(root) {
    const d = JSON.parse(root.querySelector('script.data').textContent);
    const q = (s) => root.querySelector(s);
    const st = { field: d.gate, unit: d.spot, step: 0 };
    const fieldSel = q('.field'), unitSel = q('.unit'), slider = q('.slider');
    function value(name, t, u) { return d.fields[name][t][u]; }
    const scale = (name) => d.scales[name];  // jaxrnn.teach._values.scale
    function eq(name, t) {
      return (d.equations[name] || '').replaceAll('{n}', t + 1).replaceAll('{p}', t);
    }
    function numbers(t, u) {
      if (u === d.spot) return d.printed[t];
      const x = {}; for (const k of Object.keys(d.fields)) x[k] = value(k, t, u);
      x.old = t === 0 ? d.initial[u] : value(d.state, t - 1, u);
      if (d.cell === 'lstm') { x.kept = x.f * x.old; x.written = x.i * x.g; x.tanh = Math.tanh(x.c); }
      else { x.write = 1 - x.z; x.kept = x.z * x.old; x.written = x.write * x.n; }
      return x;
    }
    function legend(el, name) {
      const signed = d.signed.includes(name), m = scale(name);
      const bar = signed ? `linear-gradient(to right, ${colour(-1, true)}, #fff, ${colour(1, true)})`
                         : `linear-gradient(to right, #fff, ${colour(1, false)})`;
      el.innerHTML = `<span>${signed ? f3(-m) : '0'}</span><span class="bar" style="background:${bar}"></span>` +
        `<span>${signed ? '+' + f3(m) : '1'}</span><span>${d.labels[name]}</span>`;
    }
    function strip() {
      const el = q('.strip'); el.innerHTML = '';
      const m = scale(st.field), signed = d.signed.includes(st.field);
      d.tokens.forEach((tok, t) => {
        const v = value(st.field, t, st.unit), s = document.createElement('span');
        s.className = 'tok' + (t === st.step ? ' now' : '');
        s.style.background = colour(v / m, signed);
        s.textContent = tok;
        const small = document.createElement('small'); small.textContent = f3(v); s.appendChild(small);
        s.title = `${st.field} = ${f3(v)} at step ${t + 1} ("${tok}"), unit ${st.unit}`;
        s.addEventListener('click', () => { st.step = t; render(); });
        el.appendChild(s);
      });
      legend(q('.strip-legend'), st.field);
      q('.strip-what').textContent = `${d.labels[st.field]}, unit ${st.unit}`;
    }
    function heat() {
      const el = q('.grid'), m = scale(st.field), signed = d.signed.includes(st.field);
      el.innerHTML = '';
      el.style.gridTemplateColumns = `3em repeat(${d.tokens.length}, minmax(14px, 1fr))`;
      d.order.forEach((u) => {
        const lab = document.createElement('div');
        lab.className = 'rowlab' + (u === d.spot ? ' spotlab' : ''); lab.textContent = u;
        el.appendChild(lab);
        d.tokens.forEach((tok, t) => {
          const v = value(st.field, t, u), c = document.createElement('div');
          c.style.background = colour(v / m, signed);
          let cls = u === d.spot ? 'spot' : '';
          if (t === st.step || u === st.unit) cls += ' now';
          c.className = cls;
          c.dataset.tip = `${st.field}[unit ${u}, step ${t + 1} "${tok}"] = ${f3(v)}\n${eq(st.field, t)}`;
          c.title = c.dataset.tip;
          c.addEventListener('click', () => { st.step = t; st.unit = u; render(); });
          el.appendChild(c);
        });
      });
      const cols = q('.cols'); cols.innerHTML = '';
      cols.style.gridTemplateColumns = el.style.gridTemplateColumns;
      cols.appendChild(document.createElement('div'));
      d.tokens.forEach((tok) => { const s = document.createElement('div'); s.className = 'collab'; s.textContent = tok; cols.appendChild(s); });
      legend(q('.heat-legend'), st.field);
      q('.heat-what').textContent = d.labels[st.field];
    }
    function diagram() {
      const x = numbers(st.step, st.unit);
      root.querySelectorAll('svg [data-k]').forEach((t) => {
        const k = t.dataset.k, v = x[k];
        t.textContent = `${t.dataset.label} = ${f3(v)}`;
      });
      q('.diagram-what').textContent = `step ${st.step + 1} ("${d.tokens[st.step]}"), unit ${st.unit}` +
        (st.unit === d.spot ? ' (the spotlight: the narration\'s printed numbers)' : ' (network values, rounded)');
    }
    function narration() {
      const all = q('.allsteps').checked;
      root.querySelectorAll('.stepbox').forEach((b) => {
        b.hidden = !(all || +b.dataset.step === st.step);
      });
      root.querySelectorAll('tr[data-step]').forEach((r) => r.classList.toggle('now', +r.dataset.step === st.step));
      q('.unit-note').hidden = st.unit === d.spot;
    }
    function render() {
      slider.value = st.step; fieldSel.value = st.field; unitSel.value = st.unit;
      q('.steplabel').textContent = `step ${st.step + 1} of ${d.tokens.length}: "${d.tokens[st.step]}"`;
      strip(); heat(); diagram(); narration();
    }
    fieldSel.addEventListener('change', () => { st.field = fieldSel.value; render(); });
    unitSel.addEventListener('change', () => { st.unit = +unitSel.value; render(); });
    slider.addEventListener('input', () => { st.step = +slider.value; render(); });
    q('.prev').addEventListener('click', () => { st.step = Math.max(0, st.step - 1); render(); });
    q('.next').addEventListener('click', () => { st.step = Math.min(d.tokens.length - 1, st.step + 1); render(); });
    q('.allsteps').addEventListener('change', narration);
    q('.grid').addEventListener('mousemove', (e) => {
      const tipText = e.target.dataset && e.target.dataset.tip;
      if (!tipText) { tip.style.display = 'none'; return; }
      tip.textContent = tipText; tip.style.display = 'block';
      tip.style.left = Math.min(e.clientX + 12, window.innerWidth - tip.offsetWidth - 4) + 'px';
      tip.style.top = (e.clientY + 14) + 'px';
    });
    q('.grid').addEventListener('mouseleave', () => { tip.style.display = 'none'; });
    render();
  }
  document.querySelectorAll('section.model').forEach(setup);
})();
