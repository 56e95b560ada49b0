// The rating deck: one film card at a time, answered in the browser.
//
// A tap shows the next card in the same frame and queues the answer. The queue (every answer
// the server has not acknowledged, each with a sequence number, under one id per page load) is
// the component's *state*: Streamlit keeps the newest state when reruns merge, so merged
// reruns, double taps and reconnects lose nothing. The server saves the queue in order, then
// sends back how far it got (`ack`); only then are answers forgotten here. Unacknowledged
// answers are also kept in localStorage, so a reload sends them again (the server's writes are
// idempotent upserts, so a replay is applied once).
//
// Titles are untrusted text: they are only ever written with textContent.
//
// Streamlit calls the default export again whenever the data changes, and mounts the component
// afresh (a new parent element, a new random `key`) when the page around it is redrawn;
// everything that must outlive one call lives in DECKS, keyed by the deck's own id
// (`data.storage`, one per member), and the DOM is rebuilt in the new parent when it moved.

const DECKS = new Map();
const STAR_VALUES = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5];
const RETRY_MS = 4000; // resend the queue when the server has not acknowledged it by then
const RESULTS = 8;
const MIN_QUERY = 2;

function starsLabel(value) {
  if (value === null) return "Haven't seen it";
  const whole = Math.floor(value);
  return `${whole || ""}${value - whole ? "½" : ""}★`;
}

function spokenStars(value) {
  return value === 1 ? "1 star" : `${value} stars`;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function newMountId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

// ------------------------------------------------------------------ search (in the browser)

function foldKey(text) {
  // As app.services.search.search_key: accents folded, lower case, punctuation to spaces.
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
}

function typos(a, b, limit) {
  // Optimal string alignment distance (a swap of two neighbouring letters counts once, as in
  // "matirx"), stopping early once every path costs more than `limit`.
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2 = null;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (prev2 && i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, prev2[j - 2] + 1);
      }
      row.push(d);
      best = Math.min(best, d);
    }
    if (best > limit) return limit + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length];
}

function fuzzyWordScores(word, vocabulary) {
  // Per distinct title word: 1 for a word it starts with; less for one within a typo or two of
  // it (or of its start, while the person is still typing); 0 for none. Computed once per typed
  // word over the catalogue's distinct words (~15,000), not once per title.
  const limit = word.length >= 7 ? 2 : word.length >= 4 ? 1 : 0;
  const scores = new Float32Array(vocabulary.length);
  for (let v = 0; v < vocabulary.length; v++) {
    const kw = vocabulary[v];
    if (kw.startsWith(word)) scores[v] = 1;
    else if (limit && kw.length + limit >= word.length) {
      const d = Math.min(typos(word, kw, limit), typos(word, kw.slice(0, word.length), limit));
      if (d <= limit) scores[v] = 1 - 0.15 * d;
    }
  }
  return scores;
}

function buildIndex(raw) {
  const aka = raw.aka || {};
  const keys = raw.titles.map((t, i) => foldKey(`${t} ${raw.years[i] ?? ""} ${aka[i] ?? ""}`));
  return { raw, keys, vocabulary: null, wordIds: null };
}

function searchIndex(index, query) {
  // Substring and word-prefix matches first (most rated first among equals), then, when few
  // match exactly, titles whose every word is within a typo or two of a typed word.
  const q = foldKey(query);
  if (q.replace(/ /g, "").length < MIN_QUERY) return [];
  const words = q.split(" ");
  const scored = [];
  const { keys, raw } = index;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const at = key.indexOf(q);
    let score = 0;
    if (at === 0) score = 100;
    else if (at > 0) score = key[at - 1] === " " ? 92 : 80;
    else if (words.every((w) => key.includes(w))) score = 75;
    if (score) scored.push([score + raw.popularity[i] / 12.5, i]);
  }
  if (scored.length < RESULTS && q.replace(/ /g, "").length >= 4) {
    // Few exact matches: allow typos, word by word (what the server's rapidfuzz did).
    if (!index.vocabulary) {
      const ids = new Map();
      index.wordIds = keys.map((k) => k.split(" ").map((w) => {
        if (!ids.has(w)) ids.set(w, ids.size);
        return ids.get(w);
      }));
      index.vocabulary = [...ids.keys()];
    }
    const perWord = words.map((w) => fuzzyWordScores(w, index.vocabulary));
    const seen = new Set(scored.map((s) => s[1]));
    for (let i = 0; i < keys.length; i++) {
      if (seen.has(i)) continue;
      let total = 0;
      for (const scores of perWord) {
        let best = 0;
        for (const id of index.wordIds[i]) if (scores[id] > best) best = scores[id];
        if (!best) { total = 0; break; }
        total += best;
      }
      if (total) scored.push([50 + (20 * total) / words.length + raw.popularity[i] / 12.5, i]);
    }
  }
  scored.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return scored.slice(0, RESULTS).map(([, i]) => ({
    id: raw.ids[i],
    title: raw.titles[i],
    year: raw.years[i],
    genres: raw.genres[raw.genre[i]] ? [raw.genres[raw.genre[i]]] : [],
  }));
}

// ------------------------------------------------------------------ the deck

class Deck {
  constructor(key) {
    this.key = key;
    this.mount = newMountId();
    this.seq = 0;
    this.pending = []; // [{seq, movie, stars}] not acknowledged yet, oldest first
    this.saved = new Map(); // movieId -> stars|null, as the server last said
    this.cards = []; // films to show, the current one first
    this.films = new Map(); // movieId -> card data
    this.history = []; // answered cards, for "Back"
    this.attempt = 0;
    this.lastSent = 0;
    this.error = null;
    this.index = null;
    this.indexFingerprint = null;
    this.wantIndex = false;
    this.query = "";
    this.serverResults = null;
    this.views = new Map(); // parent element -> its DOM (one per mounted instance)
    this.timer = null;
  }

  storageKey() {
    return this.data && this.data.storage ? `movienight-deck:${this.data.storage}` : null;
  }

  restore() {
    // Answers a previous page load queued and never had acknowledged: send them again.
    const k = this.storageKey();
    if (!k || this.restored) return;
    this.restored = true;
    try {
      const old = JSON.parse(localStorage.getItem(k) || "[]");
      for (const a of old) {
        if (typeof a.movie === "number") this.pending.push({ seq: ++this.seq, movie: a.movie, stars: a.stars ?? null });
      }
    } catch (e) {
      /* unreadable storage: nothing to restore */
    }
  }

  persist() {
    const k = this.storageKey();
    if (!k) return;
    try {
      if (this.pending.length) localStorage.setItem(k, JSON.stringify(this.pending));
      else localStorage.removeItem(k);
    } catch (e) {
      /* private mode or full storage: the in-memory queue still holds the answers */
    }
  }

  answerOf(movie) {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if (this.pending[i].movie === movie) return { known: true, stars: this.pending[i].stars };
    }
    if (this.saved.has(movie)) return { known: true, stars: this.saved.get(movie) };
    return { known: false, stars: null };
  }

  ratedCount() {
    const merged = new Map(this.saved);
    for (const a of this.pending) merged.set(a.movie, a.stars);
    let n = 0;
    for (const v of merged.values()) if (v !== null) n++;
    return { rated: n, answered: merged.size };
  }

  receive(data) {
    this.data = data;
    this.restore();
    if (data.ack && data.ack.mount === this.mount) {
      const before = this.pending.length;
      this.pending = this.pending.filter((a) => a.seq > data.ack.seq);
      if (this.pending.length !== before) this.attempt = 0;
    }
    this.error = data.retry || null;
    this.refused = data.refused || [];
    this.saved = new Map(Object.entries(data.answers || {}).map(([k, v]) => [Number(k), v]));
    for (const card of data.cards || []) this.films.set(card.id, card);
    for (const card of data.found || []) this.films.set(card.id, card);
    // The card on screen stays; the spares are replaced by the server's newest choice, minus
    // anything answered here meanwhile.
    const current = this.cards.length ? this.cards[0] : null;
    const fresh = (data.cards || []).map((c) => c.id).filter((id) => id !== current && !this.answerOf(id).known);
    this.cards = current !== null && !this.isAnswered(current) ? [current, ...fresh] : fresh;
    if (data.index && data.index.fingerprint !== this.indexFingerprint) {
      this.index = buildIndex(data.index);
      this.indexFingerprint = data.index.fingerprint;
      this.send(); // tell the server the index arrived, so it is not sent again
    }
    this.serverResults = data.found ? data.found : null;
    this.persist();
  }

  isAnswered(movie) {
    return this.answerOf(movie).known && !this.forced;
  }

  state() {
    return {
      mount: this.mount,
      answers: this.pending,
      attempt: this.attempt,
      index: this.indexFingerprint,
      want_index: this.wantIndex,
      query: this.index ? "" : this.query,
    };
  }

  send() {
    this.lastSent = Date.now();
    this.setStateValue("queue", this.state());
  }

  answer(stars) {
    const movie = this.cards[0];
    if (movie === undefined) return;
    this.pending.push({ seq: ++this.seq, movie, stars });
    this.history.push(movie);
    this.cards = this.cards.slice(1).filter((id) => !this.answerOf(id).known);
    this.forced = false;
    this.persist();
    this.render(); // the next card, in this frame
    this.send();
  }

  back() {
    const movie = this.history.pop();
    if (movie === undefined) return;
    this.cards = [movie, ...this.cards.filter((id) => id !== movie)];
    this.forced = true;
    this.render();
  }

  choose(card) {
    this.films.set(card.id, card);
    this.cards = [card.id, ...this.cards.filter((id) => id !== card.id)];
    this.forced = true;
    this.query = "";
    for (const ui of this.views.values()) ui.search.value = "";
    this.render();
    const ui = this.view();
    if (ui) {
      ui.stars[4].focus({ preventScroll: true });
      ui.card.scrollIntoView({ block: "nearest" });
    }
  }

  tick() {
    // Unacknowledged answers after RETRY_MS: send them again (a dropped message, a socket that
    // reconnected, a database that was down). `attempt` changes the value so Streamlit reruns.
    if (this.pending.length && Date.now() - this.lastSent > RETRY_MS) {
      this.attempt++;
      this.send();
    }
  }

  build(parent) {
    // Streamlit may hold two mounted instances for a moment (the old one until a rerun ends,
    // e.g. after a reconnect): each gets its own DOM, all drawn from this one state.
    const ui = {};
    const root = el("div", "deck");
    root.setAttribute("role", "region");
    root.setAttribute("aria-label", "Rate films");
    const head = el("p", "head");
    head.setAttribute("aria-live", "polite");
    const card = el("div", "card");
    const poster = el("div", "poster");
    poster.setAttribute("aria-hidden", "true");
    const posterGenre = el("span", "p-genre");
    const posterTitle = el("span", "p-title");
    const posterYear = el("span", "p-year");
    poster.append(posterGenre, posterTitle, posterYear);
    const info = el("div", "info");
    const title = el("p", "title");
    title.id = `${this.key}-title`;
    const meta = el("p", "meta");
    const prior = el("p", "prior");
    info.append(title, meta, prior);
    card.append(poster, info);
    const group = el("div", "stars");
    group.setAttribute("role", "radiogroup");
    group.setAttribute("aria-labelledby", title.id);
    const stars = STAR_VALUES.map((v) => {
      const b = el("button", "star", starsLabel(v));
      b.type = "button";
      b.setAttribute("role", "radio");
      b.setAttribute("aria-label", spokenStars(v));
      b.dataset.stars = String(v);
      b.addEventListener("click", () => this.answer(v));
      return b;
    });
    group.append(...stars);
    const unseen = el("button", "unseen", "Haven't seen it");
    unseen.type = "button";
    unseen.setAttribute("role", "radio");
    unseen.addEventListener("click", () => this.answer(null));
    group.append(unseen);
    const foot = el("div", "foot");
    const backBtn = el("button", "back", "↶ Back");
    backBtn.type = "button";
    backBtn.setAttribute("aria-label", "Back to the film you just answered");
    backBtn.addEventListener("click", () => this.back());
    const sync = el("span", "sync");
    sync.setAttribute("role", "status");
    foot.append(backBtn, sync);
    const empty = el("p", "empty", "You have answered every film we could ask about. Thank you!");
    const searchBox = el("div", "search");
    const label = el("label", "search-label", "Rate any film");
    label.htmlFor = `${this.key}-search`;
    const search = el("input", "search-input");
    search.id = label.htmlFor;
    search.type = "search";
    search.autocomplete = "off";
    search.placeholder = "Type part of a title…";
    search.value = this.query; // a remount keeps what was typed
    search.setAttribute("aria-controls", `${this.key}-results`);
    const hint = el("p", "hint");
    const results = el("ul", "results");
    results.id = `${this.key}-results`;
    results.setAttribute("aria-label", "Films found");
    search.addEventListener("focus", () => this.needIndex());
    search.addEventListener("input", () => {
      this.query = search.value;
      this.needIndex();
      this.render();
      if (!this.index && this.data && !this.data.index_available) this.askServer();
    });
    searchBox.append(label, search, hint, results);
    const mine = el("details", "mine");
    const mineSummary = el("summary", "", "Your answers");
    const mineList = el("ul", "mine-list");
    mine.append(mineSummary, mineList);
    mine.addEventListener("toggle", () => this.renderMine(ui));
    root.append(head, card, group, foot, empty, searchBox, mine);
    root.addEventListener("keydown", (e) => {
      if (e.target === search) return;
      const n = Number(e.key);
      if (e.key >= "1" && e.key <= "5" && Number.isInteger(n)) this.answer(n);
      else if (e.key === "0" || e.key.toLowerCase() === "n") this.answer(null);
    });
    parent.append(root);
    ui.root = root;
    Object.assign(ui, { head, card, poster, posterGenre, posterTitle, posterYear, title, meta, prior, group, stars, unseen, backBtn, sync, empty, search, hint, results, mine, mineSummary, mineList });
    this.views.set(parent, ui);
  }

  view() {
    // The most recently mounted view that is still in the page.
    let last = null;
    for (const [parent, ui] of this.views) {
      const host = parent.host || parent;
      if (host.isConnected) last = ui;
      else this.views.delete(parent);
    }
    return last;
  }

  needIndex() {
    if (this.index || this.wantIndex || !this.data || !this.data.index_available) return;
    this.wantIndex = true;
    this.send();
  }

  askServer() {
    clearTimeout(this.queryTimer);
    this.queryTimer = setTimeout(() => this.send(), 150);
  }

  closeness(rated, skipped) {
    // engine.elicit.personal.taps_until_personal, on the live counts: the ratings still needed,
    // and the cards that should take at this member's own rate of films seen (the measured
    // rate, updated by their own taps as a Beta prior worth `prior_taps` taps).
    const rule = this.data.closeness || { needed: 3, seen_per_tap: 0.5, prior_taps: 4 };
    const left = Math.max(0, rule.needed - rated);
    if (!left) return "your picks are yours";
    const rate = (rated + rule.prior_taps * rule.seen_per_tap) / (rated + skipped + rule.prior_taps);
    const taps = Math.ceil(left / rate - 1e-9);
    const films = `${left} more film${left === 1 ? "" : "s"}`;
    return taps > left ? `${films} you've seen (about ${taps} cards) and your picks are yours` : `${films} and your picks are yours`;
  }

  colour(genre) {
    const palette = (this.data && this.data.palette) || {};
    return palette[genre] || palette[""] || "#6b7280";
  }

  render() {
    this.view(); // forget views whose element left the page
    for (const ui of this.views.values()) this.renderView(ui);
  }

  renderView(ui) {
    if (!this.data) return;
    const { rated, answered } = this.ratedCount();
    // The member's name is in the status line above; here, how far they are, moving with taps.
    ui.head.textContent = `${rated} rated · ${this.closeness(rated, answered - rated)}`;
    const movie = this.cards[0];
    const film = movie === undefined ? null : this.films.get(movie);
    ui.card.hidden = ui.group.hidden = !film;
    ui.empty.hidden = !!film;
    ui.empty.textContent = this.data.cards_done
      ? "You have answered every film we could ask about. Thank you!"
      : "More films on their way…";
    if (film) {
      const genre = film.genres && film.genres.length ? film.genres[0] : "";
      ui.poster.style.background = this.colour(genre);
      ui.posterGenre.textContent = genre.toUpperCase();
      ui.posterTitle.textContent = film.title;
      ui.posterYear.textContent = film.year ?? "";
      ui.title.textContent = film.title;
      ui.card.dataset.movie = String(film.id);
      ui.meta.textContent = [film.year ?? "year unknown", (film.genres || []).join(", ")].filter(Boolean).join(" · ");
      const prior = this.answerOf(film.id);
      ui.prior.textContent = prior.known ? `Your answer: ${prior.stars === null ? "haven't seen it" : spokenStars(prior.stars)}` : "";
      for (const b of ui.stars) {
        b.setAttribute("aria-checked", String(prior.known && prior.stars === Number(b.dataset.stars)));
      }
      ui.unseen.setAttribute("aria-checked", String(prior.known && prior.stars === null));
    }
    ui.backBtn.hidden = !this.history.length;
    const waiting = this.pending.length;
    ui.sync.classList.toggle("problem", !!this.error);
    if (this.error) ui.sync.textContent = `${this.error} Your ${waiting} unsaved answer${waiting === 1 ? " is" : "s are"} kept and will be sent again.`;
    else if (waiting) ui.sync.textContent = `Saving ${waiting}…`;
    else if (this.refused && this.refused.length) ui.sync.textContent = this.refused.join(" ");
    else ui.sync.textContent = this.history.length ? "All answers saved" : "";
    ui.sync.dataset.pending = String(waiting);
    ui.mineSummary.textContent = `Your answers (${this.ratedCount().answered})`;
    if (ui.mine.open) this.renderMine(ui);
    this.renderResults(ui);
  }

  renderResults(ui) {
    if (ui.search.value !== this.query) ui.search.value = this.query;
    ui.search.dataset.index = this.index ? "ready" : "waiting"; // searched here, or on the server
    const q = this.query.trim();
    let found = [];
    if (this.index) found = searchIndex(this.index, q);
    else if (this.serverResults && this.data && this.data.found_for === q) found = this.serverResults;
    // Redraw the results only when they changed: a redraw on every server update would replace
    // the buttons under a finger about to tap one.
    const shown = `${q}|${found.map((f) => f.id).join(",")}`;
    if (ui.shownResults === shown) return;
    ui.shownResults = shown;
    ui.results.textContent = "";
    ui.hint.textContent = "";
    if (!q) return;
    if (foldKey(q).replace(/ /g, "").length < MIN_QUERY) ui.hint.textContent = "Keep typing: two letters or more.";
    else if (this.index && !found.length) ui.hint.textContent = "No film matches that; try fewer or other words.";
    else if (!this.index && !found.length) ui.hint.textContent = "Searching…";
    for (const card of found) {
      const li = el("li");
      const b = el("button", "result", card.year ? `${card.title} (${card.year})` : card.title);
      b.type = "button";
      b.addEventListener("click", () => this.choose(card));
      li.append(b);
      ui.results.append(li);
    }
  }

  renderMine(ui) {
    const merged = new Map(this.saved);
    for (const a of this.pending) merged.set(a.movie, a.stars);
    ui.mineList.textContent = "";
    if (!merged.size) {
      ui.mineList.append(el("li", "", "Nothing yet."));
      return;
    }
    for (const [movie, stars] of merged) {
      const film = this.films.get(movie) || (this.data.known || {})[movie];
      const li = el("li");
      const b = el("button", "result", `${film ? film.title : `Film ${movie}`}: ${stars === null ? "haven't seen it" : starsLabel(stars)}`);
      b.type = "button";
      b.setAttribute("aria-label", `Change your answer for ${film ? film.title : `film ${movie}`}`);
      if (film) b.addEventListener("click", () => this.choose(film));
      li.append(b);
      ui.mineList.append(li);
    }
  }
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const id = (data && data.storage) || "deck";
  let deck = DECKS.get(id);
  if (!deck) {
    deck = new Deck(id);
    DECKS.set(id, deck);
  }
  deck.setStateValue = setStateValue;
  if (!deck.views.has(parentElement)) deck.build(parentElement);
  deck.receive(data || {});
  deck.render();
  if (!deck.timer) deck.timer = setInterval(() => deck.tick(), 1000);
  if (deck.pending.length && !deck.sentOnce) {
    deck.sentOnce = true;
    deck.send(); // answers restored from an earlier page load
  }
}
