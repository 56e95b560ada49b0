// The rating deck's drawing: its DOM (built once per mounted parent) and each redraw from
// the deck's state. Methods of Deck (deck.js), added here so that each file has one job.

Object.assign(Deck.prototype, {
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
  },

  colour(genre) {
    const palette = (this.data && this.data.palette) || {};
    return palette[genre] || palette[""] || "#6b7280";
  },

  render() {
    this.view(); // forget views whose element left the page
    for (const ui of this.views.values()) this.renderView(ui);
  },

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
  },

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
  },

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
  },
});
