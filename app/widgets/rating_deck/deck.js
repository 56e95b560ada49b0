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

//
// The component's script is search.js, deck.js and view.js joined in that order
// (app/widgets/rating_deck/__init__.py): this part holds the deck's state and its protocol
// with the server; view.js draws it.

const DECKS = new Map();
const STAR_VALUES = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5];
const RETRY_MS = 4000; // resend the queue when the server has not acknowledged it by then

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
