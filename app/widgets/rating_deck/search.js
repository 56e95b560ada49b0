// The rating deck's search, in the browser: typed text to films, typos forgiven.
// (The component's script is search.js, deck.js and view.js joined in that order: see
// app/widgets/rating_deck/__init__.py.)

const RESULTS = 8;
const MIN_QUERY = 2;

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
