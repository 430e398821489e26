// The ballot screens: one renderer per vote kind (SPEC §4.1 `kind`), plus the words used on the
// review and challenge screens and in result summaries. Over 300 lines: five renderers sharing
// one set of helpers, which splitting would only scatter.
//
// Choices are {contestId: [optionId, …]} (the shape encryptBallot takes). Renderers only show and
// edit them; each contest's min/max (and the vote's constraints) decide when "下一步" is allowed.

import { announce, h } from "./dom.js";
import { field, formatBudget, joinList, t } from "./i18n.js";

export const kindLabel = (kind) => {
  const key = `kind_${kind}`;
  const text = t(key);
  return text === key ? kind : text;
};

const optionById = (contest, id) => contest.options.find((o) => o.id === id);
export const optionLabel = (option) => field(option, "label") || field(option, "name") || option.id;
export const contestLabel = (contest) => field(contest, "title") || contest.id;

function chosen(choices, contestId) {
  return choices[contestId] ?? [];
}

const fullMessage = (vote, max) => t(vote.kind === "election" ? "selected_full_people" : "selected_full", { max });

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

// ------------------------------------------------------------------------- validity

/**
 * {ok: true} or {ok: false, reason} for the current choices: every contest within its
 * [min, max], every constraint within its bounds.
 */
export function validate(vote, choices) {
  const missing = vote.contests.filter((c) => chosen(choices, c.id).length < c.min);
  if (missing.length) {
    if (vote.kind === "resolution" && vote.contests.length === 1) return { ok: false, reason: t("need_choice_resolution") };
    if (missing.every((c) => c.min === 1 && c.max === 1)) {
      return { ok: false, reason: t("need_choice_items", { count: missing.length, names: joinList(missing.map(contestLabel)) }) };
    }
    const c = missing[0];
    return { ok: false, reason: t("need_at_least", { title: contestLabel(c), min: c.min }) };
  }
  for (const c of vote.contests) {
    if (chosen(choices, c.id).length > c.max) return { ok: false, reason: fullMessage(vote, c.max) };
  }
  for (const k of vote.constraints ?? []) {
    const count = k.members.filter(([c, o]) => chosen(choices, c).includes(o)).length;
    if (count < k.min || count > k.max) {
      return { ok: false, reason: t("choice_problem", { detail: `${k.id}: ${k.min}–${k.max}` }) };
    }
  }
  return { ok: true, reason: "" };
}

// ------------------------------------------------------------------------- words

/** [{title, items: [text…], blank}] describing `choices` in words, one per contest. */
export function describeChoices(vote, choices) {
  const single = vote.contests.length === 1;
  return vote.contests.map((contest) => {
    const picked = chosen(choices, contest.id).map((id) => optionById(contest, id)).filter(Boolean);
    const title = single && contestLabel(contest) === field(vote, "title") ? "" : contestSubtitle(vote, contest);
    return { title, items: picked.map(optionLabel), contest };
  });
}

function contestSubtitle(vote, contest) {
  const post = field(contest, "post");
  return post ? `${contestLabel(contest)}（${post}）` : contestLabel(contest);
}

/** Choices recovered from a §4.4 opening list: the options whose m = 1. */
export function choicesFromOpenings(openings) {
  const result = {};
  for (const [contestId, optionId, m] of openings) {
    result[contestId] ??= [];
    if (m === 1) result[contestId].push(optionId);
  }
  return result;
}

/** A <dl>-like list of the choices in words (review and challenge screens). */
export function choicesList(vote, choices) {
  const rows = describeChoices(vote, choices);
  const multi = (contest) => contest.max > 1;
  return h("div", { class: "choice-summary" },
    rows.map(({ title, items, contest }) => h("div", { class: "summary-row" },
      title ? h("div", { class: "summary-title" }, title) : null,
      items.length === 0
        ? h("div", { class: "summary-value blank" }, multi(contest) ? t("review_none") : t("review_blank"))
        : multi(contest)
          ? h("div", { class: "summary-value" },
            h("div", { class: "summary-count" }, t("review_selected_n", { count: items.length })),
            h("ol", { class: "summary-list" }, items.map((text) => h("li", {}, text))))
          : h("div", { class: "summary-value strong" }, items.join(" ")))));
}

// ------------------------------------------------------------------------- renderers

function optionButton(contest, option, choices, onToggle, extraClass = "") {
  const pressed = chosen(choices, contest.id).includes(option.id);
  return h("button", {
    type: "button",
    id: `opt-${contest.id}-${option.id}`,
    class: `opt opt-${option.id} ${extraClass}`.trim(),
    "aria-pressed": pressed ? "true" : "false",
    dataset: { contest: contest.id, option: option.id },
    onclick: () => onToggle(contest, option),
  }, h("span", { class: "opt-check", "aria-hidden": "true" }, "✓"), h("span", { class: "opt-label" }, optionLabel(option)));
}

/** A contest where one option (at most) is chosen: a row of big buttons. */
function singleRow(contest, choices, onToggle, { heading = true, big = false, sub = "" } = {}) {
  const headingId = nextId("contest");
  return h("section", {
    class: `contest single${big ? " big" : ""}`,
    role: "group",
    "aria-labelledby": heading ? headingId : null,
    "aria-label": heading ? null : contestLabel(contest),
    dataset: { contest: contest.id },
  },
  heading ? h("div", { class: "contest-head" },
    h("h2", { id: headingId, class: "contest-title" }, contestLabel(contest)),
    sub ? h("div", { class: "contest-sub" }, sub) : null) : null,
  h("div", { class: "opt-row" }, contest.options.map((o) => optionButton(contest, o, choices, onToggle, big ? "big" : ""))));
}

/** A contest where up to `max` options are chosen: cards with a counter. */
function cardGrid(vote, contest, choices, onToggle, { showTitle = false } = {}) {
  const headingId = nextId("contest");
  const counterId = nextId("counter");
  const cards = contest.options.map((option) => {
    const labelId = nextId("card-label");
    const descId = nextId("card-desc");
    const budget = typeof option.budget_cny === "number" ? t("budget", { amount: formatBudget(option.budget_cny) }) : "";
    const desc = field(option, "description");
    const pressed = chosen(choices, contest.id).includes(option.id);
    return h("button", {
      type: "button",
      id: `opt-${contest.id}-${option.id}`,
      class: "card",
      "aria-pressed": pressed ? "true" : "false",
      // the name is all the visible text (label, budget, description): WCAG 2.5.3 label in name
      "aria-labelledby": budget || desc ? `${labelId} ${descId}` : labelId,
      dataset: { contest: contest.id, option: option.id },
      onclick: () => onToggle(contest, option),
    },
    h("span", { class: "card-check", "aria-hidden": "true" }, "✓"),
    h("span", { class: "card-label", id: labelId }, optionLabel(option)),
    h("span", { class: "card-desc", id: descId },
      budget ? h("span", { class: "card-budget" }, budget) : null,
      desc ? h("span", { class: "card-text" }, desc) : null));
  });
  return h("section", { class: "contest multi", role: "group", "aria-labelledby": headingId, dataset: { contest: contest.id } },
    h("div", { class: "contest-head" },
      h("h2", { id: headingId, class: showTitle ? "contest-title" : "contest-title sr-only" }, contestLabel(contest)),
      h("div", { class: "counter", id: counterId, dataset: { counter: contest.id } })),
    h("div", { class: "cards" }, cards));
}

function instruction(vote) {
  const first = vote.contests[0];
  const key = `instr_${vote.kind}`;
  const text = t(key, { max: first ? first.max : 0 });
  return text === key ? t("instr_generic") : text;
}

const RENDERERS = {
  resolution(vote, choices, onToggle) {
    return vote.contests.map((c) => singleRow(c, choices, onToggle, {
      heading: vote.contests.length > 1 || contestLabel(c) !== field(vote, "title"), big: true,
    }));
  },
  appointment(vote, choices, onToggle) {
    return vote.contests.map((c) => singleRow(c, choices, onToggle, { sub: field(c, "post") }));
  },
  selection(vote, choices, onToggle) {
    return vote.contests.map((c) => cardGrid(vote, c, choices, onToggle, { showTitle: vote.contests.length > 1 }));
  },
  election(vote, choices, onToggle) {
    return vote.contests.map((c) => cardGrid(vote, c, choices, onToggle, { showTitle: vote.contests.length > 1 }));
  },
  evaluation(vote, choices, onToggle) {
    return vote.contests.map((c) => singleRow(c, choices, onToggle, { sub: field(c, "description") }));
  },
};

function genericRenderer(vote, choices, onToggle) {
  return vote.contests.map((c) => (c.max === 1
    ? singleRow(c, choices, onToggle, { sub: field(c, "post") || field(c, "description") })
    : cardGrid(vote, c, choices, onToggle, { showTitle: true })));
}

/**
 * The ballot screen's body for `vote`, editing `choices` in place. Returns {element, footer}:
 * `footer` holds the counter, the reason "下一步" is disabled, and the button itself.
 */
export function renderBallot(vote, choices, { onNext }) {
  const footerStatusId = nextId("ballot-status");
  const nextButton = h("button", { type: "button", id: "btn-next", class: "btn primary big", "aria-describedby": footerStatusId, onclick: () => onNext() }, t("next"));
  const status = h("div", { class: "footer-status", id: footerStatusId });

  const onToggle = (contest, option) => {
    const list = chosen(choices, contest.id);
    const index = list.indexOf(option.id);
    if (index >= 0) {
      choices[contest.id] = list.filter((id) => id !== option.id);
      announce(t("option_cleared", { label: optionLabel(option) }));
    } else if (contest.max === 1) {
      choices[contest.id] = [option.id];
      announce(t("option_selected", { label: optionLabel(option) }));
    } else if (list.length < contest.max) {
      choices[contest.id] = [...list, option.id];
      announce(`${t("option_selected", { label: optionLabel(option) })}。${t("selected_count", { count: list.length + 1, max: contest.max })}`);
    } else {
      announce(fullMessage(vote, contest.max));
      return;
    }
    update();
  };

  const renderer = RENDERERS[vote.kind] ?? genericRenderer;
  const body = h("div", { class: `ballot-body kind-${vote.kind}` }, renderer(vote, choices, onToggle));

  function update() {
    for (const contest of vote.contests) {
      const list = chosen(choices, contest.id);
      const full = contest.max > 1 && list.length >= contest.max;
      for (const button of body.querySelectorAll(`[data-contest="${CSS.escape(contest.id)}"] button[data-option]`)) {
        const pressed = list.includes(button.dataset.option);
        button.setAttribute("aria-pressed", pressed ? "true" : "false");
        if (contest.max > 1) button.disabled = full && !pressed;
      }
      const counter = body.querySelector(`[data-counter="${CSS.escape(contest.id)}"]`);
      if (counter) {
        counter.replaceChildren(h("span", { class: "counter-value" }, t("selected_count", { count: list.length, max: contest.max })));
        if (full) counter.append(h("span", { class: "counter-full", role: "note" }, fullMessage(vote, contest.max)));
      }
    }
    const verdict = validate(vote, choices);
    nextButton.disabled = !verdict.ok;
    const counts = vote.contests.filter((c) => c.max > 1);
    const parts = [];
    if (counts.length === 1) parts.push(h("span", { class: "footer-count" }, t("selected_count", { count: chosen(choices, counts[0].id).length, max: counts[0].max })));
    if (counts.length === 1 && chosen(choices, counts[0].id).length >= counts[0].max) {
      parts.push(h("span", { class: "footer-full" }, fullMessage(vote, counts[0].max)));
    }
    if (!verdict.ok) parts.push(h("span", { class: "footer-reason" }, verdict.reason));
    else if (vote.kind === "appointment") parts.push(h("span", { class: "footer-hint" }, t("leave_blank_hint")));
    status.replaceChildren(...parts);
  }

  const element = h("div", { class: "ballot" },
    h("p", { class: "instruction" }, instruction(vote)),
    body);
  const footer = h("div", { class: "footer-bar" }, status, nextButton);
  update();
  return { element, footer };
}

// ------------------------------------------------------------------------- results

function statusText(vote, status) {
  const selection = vote?.kind === "selection";
  if (status === "elected") return t(selection ? "status_elected_selection" : "status_elected");
  if (status === "not_elected") return t(selection ? "status_not_elected_selection" : "status_not_elected");
  if (status === "tied") return t("status_tied");
  if (status === "below_threshold") return t("status_below_threshold");
  return status;
}

function findOption(vote, contestId, optionId) {
  const contest = vote?.contests.find((c) => c.id === contestId);
  const option = contest && optionById(contest, optionId);
  return { contest, option, label: option ? optionLabel(option) : optionId };
}

/** A short summary of a `result` event ({tallies, outcome}) for the vote `vote`. */
export function resultSummary(vote, result) {
  const outcome = result.outcome ?? {};
  const parts = [];
  if (outcome.quorum_met === false) parts.push(h("p", { class: "notice warn" }, t("quorum_void")));
  if (Array.isArray(outcome.items) && outcome.items.some((i) => "passed" in i)) {
    // majority: 议案表决, 人事任免
    parts.push(h("ul", { class: "result-list" }, outcome.items.map((item) => {
      const contest = vote?.contests.find((c) => c.id === item.contest);
      const counts = (contest?.options ?? Object.keys(item.counts).map((id) => ({ id })))
        .map((o) => `${optionLabel(o)} ${item.counts[o.id] ?? 0}`);
      counts.push(t("not_voted", { count: item.not_voted ?? 0 }));
      const showTitle = contest && (vote.contests.length > 1 || contestLabel(contest) !== field(vote, "title"));
      return h("li", { class: "result-item" },
        showTitle ? h("div", { class: "result-title" }, contestSubtitle(vote, contest)) : null,
        h("div", { class: "result-counts" }, counts.join(" / ")),
        h("div", { class: `result-verdict ${item.passed ? "ok" : "bad"}` }, `→ ${item.passed ? t("passed") : t("not_passed")}`));
    })));
  } else if (Array.isArray(outcome.items)) {
    // rating: 满意度测评
    parts.push(h("ul", { class: "result-list" }, outcome.items.map((item) => {
      const contest = vote?.contests.find((c) => c.id === item.contest);
      const counts = (contest?.options ?? Object.keys(item.counts).map((id) => ({ id })))
        .map((o) => `${optionLabel(o)} ${item.counts[o.id] ?? 0}`);
      const grade = item.grade ? findOption(vote, item.contest, item.grade).label : "—";
      return h("li", { class: "result-item" },
        h("div", { class: "result-title" }, contest ? contestLabel(contest) : item.contest),
        h("div", { class: "result-counts" }, counts.join(" / ")),
        h("div", { class: "result-verdict" }, `→ ${t("grade", { grade })}`));
    })));
  } else if (Array.isArray(outcome.ranking)) {
    // select: 民生实事项目票决, 选举
    const names = (outcome.elected ?? []).map(([c, o]) => findOption(vote, c, o).label);
    const key = vote?.kind === "selection" ? "elected_list_selection" : "elected_list";
    parts.push(h("p", { class: "result-headline" }, t(key, { names: names.length ? joinList(names) : t("none") })));
    if (outcome.unfilled) {
      parts.push(h("p", { class: "notice" }, t(vote?.kind === "selection" ? "unfilled_selection" : "unfilled", { count: outcome.unfilled })));
    }
    parts.push(h("ol", { class: "result-list ranking" }, outcome.ranking.map((row) => {
      const [c, o] = row.candidate;
      return h("li", { class: `result-item status-${row.status}` },
        h("span", { class: "result-title" }, findOption(vote, c, o).label),
        h("span", { class: "result-counts" }, t("votes_count", { count: row.count })),
        h("span", { class: "result-verdict" }, statusText(vote, row.status)));
    })));
  }
  return h("div", { class: "result-summary" }, parts);
}
