// Language of parts (WCAG 3.1.2) on the staff pages and the hall's big screen: when the page is in
// English, the Chinese data on it (names, titles, delegations, the Chinese of bilingual labels) is
// wrapped in <span lang="zh-CN">, so that a screen reader reads it with a Chinese voice instead of
// spelling it out in an English one. Text the page's scripts write later (the console's live
// updates, the big screen's results) is marked as it arrives. A page in Chinese is left alone.
// Used as a module: <script type="module" src=".../lang.js">.

const HAN = "\\u3400-\\u9fff\\uf900-\\ufaff\\u3000-\\u303f\\uff00-\\uffef";
const HAS_CHINESE = new RegExp(`[${HAN}]`);
// A run of Chinese: from one Chinese character to the last one that follows it with only digits,
// spaces and Chinese punctuation between (so "2027年民生实事项目票决" is one run).
const RUN = new RegExp(`[${HAN}](?:[${HAN}0-9\\s·•]*[${HAN}])?`, "g");
const SKIP = "script, style, title, textarea, input, select, option, [lang^='zh'], [contenteditable]";

function mark(root) {
  if (!root || !(root.nodeType === Node.ELEMENT_NODE || root.nodeType === Node.TEXT_NODE)) return;
  const element = root.nodeType === Node.TEXT_NODE ? root.parentElement : root;
  if (!element || element.closest(SKIP)) return;
  const nodes = [];
  if (root.nodeType === Node.TEXT_NODE) {
    nodes.push(root);
  } else {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) => (HAS_CHINESE.test(node.data) && !node.parentElement.closest(SKIP)
        ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT),
    });
    while (walker.nextNode()) nodes.push(walker.currentNode);
  }
  for (const node of nodes) {
    if (!node.parentNode || !HAS_CHINESE.test(node.data)) continue;
    const parts = document.createDocumentFragment();
    let last = 0;
    for (const match of node.data.matchAll(RUN)) {
      parts.append(node.data.slice(last, match.index));
      const span = document.createElement("span");
      span.lang = "zh-CN";
      span.textContent = match[0];
      parts.append(span);
      last = match.index + match[0].length;
    }
    parts.append(node.data.slice(last));
    node.replaceWith(parts);
  }
}

if (document.documentElement.lang.toLowerCase().startsWith("en")) {
  mark(document.body);
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "characterData") mark(record.target);
      else record.addedNodes.forEach(mark);
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}
