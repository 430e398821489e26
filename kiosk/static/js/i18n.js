// Every string the kiosk and the receipt page show, in Chinese (default) and English.
// t("key", {name: value}) fills {name} placeholders. The choice is kept in localStorage.
// Over 300 lines because it is the string table itself: two languages of every message, one file
// so that a missing translation shows side by side.

const LANG_KEY = "piaojue.lang";

const MESSAGES = {
  zh: {
    app_name: "票决",
    lang_switch: "English",
    lang_switch_label: "Switch to English",
    seat: "座位 {seat}",
    conn_connected: "已连接",
    conn_connecting: "正在连接…",
    conn_disconnected: "连接中断，正在重连…",
    countdown: "距表决结束 {time}",
    countdown_over: "表决时间已到",
    held_short: "表决暂停",
    held: "表决已暂停。",
    resumed: "表决已恢复，可以继续投票。",
    held_hint: "主席团已暂停本项表决：您可以继续选择，恢复后再按“投票”。",
    err_checkin_closed: "签到已截止，请与工作人员联系。",
    err_rate_limited: "操作过于频繁，请 {seconds} 秒后重试。",
    loading: "正在载入…",
    settings_button: "显示设置",
    settings_size: "字号",
    settings_size_1: "标准",
    settings_size_2: "较大",
    settings_size_3: "大",
    settings_size_4: "特大",
    settings_contrast: "对比度",
    settings_contrast_standard: "标准",
    settings_contrast_high: "高对比度",
    settings_lang: "语言",
    settings_close: "关闭设置",

    // pairing
    pair_title: "平板配对",
    pair_intro: "请输入会务工作人员提供的 8 位配对码，将本平板绑定到您的座位。",
    pair_code_label: "配对码（8 位数字）",
    pair_submit: "配对",
    pair_busy: "正在配对…",
    pair_auto: "正在使用链接中的配对码进行配对…",
    pair_bad_format: "配对码是 8 位数字。",
    pair_failed: "配对码无效、已使用或已过期，请向会务工作人员索取新的配对码。",
    pair_done: "配对成功：{title}，座位 {seat}",

    // check-in
    checkin_title: "代表签到",
    checkin_prompt: "请扫描凭证卡二维码或输入代码",
    checkin_meeting: "{title} · 座位 {seat}",
    scan_button: "扫描凭证卡二维码",
    scan_hint: "请将凭证卡上的二维码对准屏幕上方的摄像头。",
    scan_cancel: "取消扫描",
    or: "或者",
    scan_failed: "无法使用摄像头：{reason}。请直接输入代码。",
    scan_other_meeting: "这张凭证卡属于另一次会议（{meeting}），不能在本会议签到。",
    code_label: "凭证代码",
    code_hint: "凭证卡上的 20 位代码，例如 ABCDE-FGHIJ-KLMN2-34567（字母 A–Z 和数字 2–7，不区分大小写，可含空格或横线）。",
    checkin_submit: "签到",
    checkin_busy: "正在签到…",
    checkin_code_error: "代码有误：{detail}",
    checkin_unknown_credential: "这个代码不属于本次会议的任何代表。请核对凭证卡后重新输入，或联系会务工作人员。",
    checkin_revoked: "这张凭证卡已被注销，请联系会务工作人员。",
    checkin_unknown_seat: "本平板的座位不在代表名册中，请联系会务工作人员重新配对。",
    checkin_not_sealed: "会议尚未开始，请稍后再签到。",
    checkin_restarted: "本平板已重新启动，原来的签到已失效。请重新扫描凭证卡二维码或输入凭证代码签到，签到后即可投票。",
    checkin_vote_open: "表决已开始：{title}。请先签到，签到后选票会自动显示。",
    checkin_vote_open_untitled: "表决已开始。请先签到，签到后选票会自动显示。",
    repair: "不是这个座位？重新配对",
    repair_confirm: "确定要解除本平板与座位 {seat} 的配对吗？",

    // waiting
    checked_in: "已签到",
    waiting_seat: "座位 {seat}",
    waiting_text: "请等待表决开始。表决开始后，选票会自动显示在本屏幕上。",
    presence: "实到 {present} 人 / 应到 {members} 人",
    quorum_met: "已达到法定人数",
    quorum_not_met: "未达到法定人数",
    vote_opened: "表决已开始：{title}",
    open_vote_button: "前往表决：{title}",

    // ballots
    kind_resolution: "议案表决",
    kind_appointment: "人事任免",
    kind_selection: "民生实事项目票决",
    kind_election: "选举",
    kind_evaluation: "满意度测评",
    instr_resolution: "请选择赞成、反对或弃权。",
    instr_appointment: "请对每位被提名人选择赞成、反对或弃权；也可以不选。",
    instr_selection: "最多选择 {max} 个项目，可以少选。点击项目卡片选择，再次点击取消。",
    instr_election: "应选 {max} 名，最多选择 {max} 名，可以少选。点击候选人选择，再次点击取消。",
    instr_evaluation: "请对每个部门选择满意、基本满意或不满意。",
    instr_generic: "请按每项的说明作出选择。",
    selected_count: "已选 {count} / {max}",
    selected_full: "已选满 {max} 项。如需更换，请先取消一项。",
    selected_full_people: "已选满 {max} 名。如需更换，请先取消一名。",
    budget: "预算 {amount}",
    next: "下一步",
    need_choice_resolution: "请先选择赞成、反对或弃权。",
    need_choice_items: "还有 {count} 项未选择：{names}",
    need_at_least: "「{title}」至少需选择 {min} 项。",
    choice_problem: "选择不符合本项表决的规则：{detail}",
    option_selected: "已选择：{label}",
    option_cleared: "已取消：{label}",
    leave_blank_hint: "再次点击已选按钮可取消选择（不投票）。",

    // review
    review_title: "请确认您的选择",
    review_blank: "未选择（不投票）",
    review_none: "未选择任何一项",
    review_selected_n: "已选 {count} 项：",
    cast: "投票",
    challenge: "核验加密",
    back_to_edit: "返回修改",
    cast_hint: "点击“投票”后，选票在本平板加密并提交，提交后不能撤回。",
    challenge_hint: "核验加密：查看本平板对您选择的加密是否正确。这次加密会作废并公开核验，不计入结果；之后仍需点击“投票”。",
    spoiled_notice: "此次加密已作废并公开核验；投票时将重新加密",
    encrypting: "正在加密…",

    // challenge
    challenge_title: "核验加密",
    challenge_contents: "这次加密的内容是：",
    challenge_tracker: "这次加密的跟踪码（已作废）：",
    challenge_posting: "正在公开这次加密…",
    challenge_mismatch: "如果显示的内容与您的选择不一致，请不要投票，立即联系会务工作人员。",
    challenge_post_failed: "未能公开这次加密（{detail}）。这次加密已作废，不会被提交。",
    back_to_review: "返回确认页",

    // submitting
    submitting_title: "正在提交…",
    submitting_text: "您的选票已加密并保存在本平板上，正在提交到计票系统。",
    submitting_retry: "网络中断，{seconds} 秒后重试（第 {attempt} 次重试）。选票不会丢失，请勿关闭本平板。",
    submitting_server_busy: "计票系统暂时繁忙，{seconds} 秒后重试（第 {attempt} 次重试）。",
    submitting_timeout: "计票系统 {timeout} 秒内没有答复，{seconds} 秒后重新提交同一张选票（第 {attempt} 次重试）。选票不会丢失，请勿关闭本平板。",
    retry_now: "立即重试",
    tracker_label: "跟踪码",

    // receipt
    receipt_title: "已投票",
    receipt_text: "您的选票已加密提交，并已记入公开日志（第 {index} 条）。",
    receipt_verified: "✓ 回执已在本平板核验：日志签名有效，选票在日志中。",
    receipt_verify_failed: "✗ 回执核验失败：{detail}。请联系会务工作人员。",
    receipt_qr_alt: "回执核验二维码",
    receipt_qr_hint: "用手机扫描二维码，可以随时核验您的选票已记入公开日志。跟踪码不显示您的选择。",
    receipt_link_label: "或在手机浏览器中输入：",
    recast: "重新投票",
    recast_hint: "本项表决允许重新投票，以最后一次投票为准。",
    done: "完成",

    // rejection
    rejected_title: "选票未被接收",
    err_already_voted: "您已在本项表决中投票。",
    err_vote_not_open: "本项表决未开始或已经结束，选票未被接收。",
    err_not_checked_in: "本项表决开始时，这张凭证卡尚未签到或尚未登记（例如表决开始后才签到，或表决开始后补发的新凭证卡），因此不能参加本项表决。从下一项表决起可以正常投票。",
    err_unknown_credential: "您的凭证未在本次会议登记，请联系会务工作人员。",
    err_revoked_credential: "您的凭证已被注销，请联系会务工作人员。",
    err_bad_signature: "选票签名无效，请重新签到后再投票。",
    err_invalid_proof: "选票的加密证明无效，请联系会务工作人员。",
    err_malformed: "选票格式有误，请联系会务工作人员。",
    err_unknown_vote: "没有这项表决。",
    err_too_large: "选票过大，请联系会务工作人员。",
    err_network: "网络连接失败，请检查网络后重试。",
    err_generic: "出现错误：{detail}",
    server_said: "系统返回：{message}",
    back: "返回",

    // closed
    closed_title: "表决已结束",
    closed_text: "本项表决已经结束，您没有在结束前投票。",
    closed_after_vote: "本项表决已经结束。",

    // results
    results_title: "表决结果",
    passed: "通过",
    not_passed: "未通过",
    not_voted: "未按 {count}",
    quorum_void: "出席代表未达到法定人数，本项表决不产生结果。",
    status_elected: "当选",
    status_elected_selection: "入选",
    status_tied: "票数相同，需再次表决",
    status_not_elected: "未当选",
    status_not_elected_selection: "未入选",
    status_below_threshold: "未过半数",
    elected_list: "当选：{names}",
    elected_list_selection: "入选项目：{names}",
    none: "无",
    unfilled: "缺额 {count} 名",
    unfilled_selection: "缺额 {count} 项",
    grade: "测评结果：{grade}",
    votes_count: "{count} 票",

    // receipt page (phone)
    rp_title: "回执核验",
    rp_checking: "正在核验您的选票…",
    rp_ok: "✓ 您的选票已记录在公开日志中（第 {index} 条，共 {size} 条），日志签名有效",
    rp_vote: "表决：{title}",
    rp_not_found: "✗ 公开日志中没有这张选票（回执哈希 {hash}）。请核对二维码或联系会务工作人员。",
    rp_failed: "✗ 核验失败：{detail}",
    rp_network: "✗ 无法连接计票系统：{detail}",
    rp_details: "技术细节",
    rp_leaf_index: "日志位置（leaf_index）",
    rp_tree_size: "日志条数（tree_size）",
    rp_root: "日志根哈希",
    rp_timestamp: "签名时间",
    rp_ballot_hash: "选票哈希",
    rp_note: "核验在您的手机浏览器中完成：检查日志的签名，并检查您的选票确实位于签名的日志中。跟踪码和选票都不显示您的选择。",
  },
  en: {
    app_name: "Piaojue",
    lang_switch: "中文",
    lang_switch_label: "切换到中文",
    seat: "Seat {seat}",
    conn_connected: "Connected",
    conn_connecting: "Connecting…",
    conn_disconnected: "Disconnected, reconnecting…",
    countdown: "Voting closes in {time}",
    countdown_over: "Voting time is up",
    held_short: "Voting on hold",
    held: "Voting is on hold.",
    resumed: "Voting has resumed: you may cast your ballot.",
    held_hint: "The presidium has put this vote on hold: you may go on choosing, and cast once it resumes.",
    err_checkin_closed: "Check-in is closed: please ask the staff.",
    err_rate_limited: "Too many attempts. Please try again in {seconds} s.",
    loading: "Loading…",
    settings_button: "Display",
    settings_size: "Text size",
    settings_size_1: "Standard",
    settings_size_2: "Larger",
    settings_size_3: "Large",
    settings_size_4: "Largest",
    settings_contrast: "Contrast",
    settings_contrast_standard: "Standard",
    settings_contrast_high: "High contrast",
    settings_lang: "Language",
    settings_close: "Close settings",

    pair_title: "Pair this tablet",
    pair_intro: "Enter the 8-digit pairing code from the clerk to bind this tablet to your seat.",
    pair_code_label: "Pairing code (8 digits)",
    pair_submit: "Pair",
    pair_busy: "Pairing…",
    pair_auto: "Pairing with the code from the link…",
    pair_bad_format: "A pairing code is 8 digits.",
    pair_failed: "This pairing code is unknown, used or expired. Ask the clerk for a new one.",
    pair_done: "Paired: {title}, seat {seat}",

    checkin_title: "Check in",
    checkin_prompt: "Scan the QR code on your credential card or type its code",
    checkin_meeting: "{title} · Seat {seat}",
    scan_button: "Scan the card's QR code",
    scan_hint: "Hold the QR code on your card up to the camera above the screen.",
    scan_cancel: "Cancel scanning",
    or: "or",
    scan_failed: "The camera cannot be used: {reason}. Please type the code instead.",
    scan_other_meeting: "This card belongs to another meeting ({meeting}); it cannot check in here.",
    code_label: "Credential code",
    code_hint: "The 20-character code on your card, e.g. ABCDE-FGHIJ-KLMN2-34567 (letters A–Z and digits 2–7, any case, spaces or dashes allowed).",
    checkin_submit: "Check in",
    checkin_busy: "Checking in…",
    checkin_code_error: "The code is not valid: {detail}",
    checkin_unknown_credential: "This code does not belong to any deputy of this meeting. Check your card and type it again, or ask the clerk.",
    checkin_revoked: "This credential card has been revoked. Please ask the clerk.",
    checkin_unknown_seat: "This tablet's seat is not in the roster. Ask the clerk to pair it again.",
    checkin_not_sealed: "The meeting has not started yet. Please check in later.",
    checkin_restarted: "This tablet has restarted, so its check-in was lost. Scan your card's QR code or type its code to check in again; then you can vote.",
    checkin_vote_open: "Voting has begun: {title}. Check in first; the ballot then appears by itself.",
    checkin_vote_open_untitled: "Voting has begun. Check in first; the ballot then appears by itself.",
    repair: "Not this seat? Pair again",
    repair_confirm: "Unpair this tablet from seat {seat}?",

    checked_in: "Checked in",
    waiting_seat: "Seat {seat}",
    waiting_text: "Please wait for voting to begin. The ballot will appear on this screen by itself.",
    presence: "Present {present} / members {members}",
    quorum_met: "Quorum met",
    quorum_not_met: "Quorum not met",
    vote_opened: "Voting has begun: {title}",
    open_vote_button: "Go to the vote: {title}",

    kind_resolution: "Resolution",
    kind_appointment: "Appointments",
    kind_selection: "Livelihood projects",
    kind_election: "Election",
    kind_evaluation: "Satisfaction evaluation",
    instr_resolution: "Choose For, Against or Abstain.",
    instr_appointment: "For each nominee choose For, Against or Abstain; you may leave a nominee blank.",
    instr_selection: "Choose up to {max} projects (fewer is allowed). Tap a card to choose it, tap again to undo.",
    instr_election: "{max} seats: choose up to {max} candidates (fewer is allowed). Tap a card to choose, tap again to undo.",
    instr_evaluation: "For each department choose Satisfied, Basically satisfied or Unsatisfied.",
    instr_generic: "Make your choices as each item says.",
    selected_count: "Chosen {count} / {max}",
    selected_full: "You have chosen {max}. To change, first undo one.",
    selected_full_people: "You have chosen {max} candidates. To change, first undo one.",
    budget: "Budget {amount}",
    next: "Next",
    need_choice_resolution: "Choose For, Against or Abstain first.",
    need_choice_items: "{count} still to choose: {names}",
    need_at_least: "“{title}” needs at least {min}.",
    choice_problem: "These choices do not fit this vote's rules: {detail}",
    option_selected: "Chosen: {label}",
    option_cleared: "Undone: {label}",
    leave_blank_hint: "Tap a chosen button again to undo it (no vote).",

    review_title: "Please confirm your choices",
    review_blank: "No choice (blank)",
    review_none: "Nothing chosen",
    review_selected_n: "{count} chosen:",
    cast: "Cast",
    challenge: "Check the encryption",
    back_to_edit: "Change",
    cast_hint: "“Cast” encrypts your ballot on this tablet and submits it; it cannot be taken back.",
    challenge_hint: "Check the encryption: see that this tablet encrypted your choices correctly. That encryption is then cancelled and published, and never counted; you still press “Cast” afterwards.",
    spoiled_notice: "This encryption was cancelled and published for checking; casting encrypts afresh",
    encrypting: "Encrypting…",

    challenge_title: "Check the encryption",
    challenge_contents: "This encryption contains:",
    challenge_tracker: "Tracker of this (cancelled) encryption:",
    challenge_posting: "Publishing this encryption…",
    challenge_mismatch: "If this is not what you chose, do not cast: tell the clerk at once.",
    challenge_post_failed: "This encryption could not be published ({detail}). It is cancelled and will not be submitted.",
    back_to_review: "Back to confirmation",

    submitting_title: "Submitting…",
    submitting_text: "Your ballot is encrypted and saved on this tablet; it is being submitted.",
    submitting_retry: "Network down; retrying in {seconds} s (retry {attempt}). Your ballot will not be lost; keep this tablet on.",
    submitting_server_busy: "The service is busy; retrying in {seconds} s (retry {attempt}).",
    submitting_timeout: "No answer from the service within {timeout} s; sending the same ballot again in {seconds} s (retry {attempt}). Your ballot will not be lost; keep this tablet on.",
    retry_now: "Retry now",
    tracker_label: "Tracker",

    receipt_title: "Ballot cast",
    receipt_text: "Your ballot was encrypted, submitted and recorded in the public log (entry {index}).",
    receipt_verified: "✓ Receipt checked on this tablet: the log signature is valid and the ballot is in the log.",
    receipt_verify_failed: "✗ The receipt did not check: {detail}. Please tell the clerk.",
    receipt_qr_alt: "QR code of the receipt check page",
    receipt_qr_hint: "Scan this with your phone to check at any time that your ballot is in the public log. The tracker does not reveal your choices.",
    receipt_link_label: "Or type into a phone's browser:",
    recast: "Vote again",
    recast_hint: "This vote allows voting again; the last ballot counts.",
    done: "Done",

    rejected_title: "Ballot not accepted",
    err_already_voted: "You have already voted in this vote.",
    err_vote_not_open: "This vote is not open (not yet, or no longer); the ballot was not accepted.",
    err_not_checked_in: "This credential card was not checked in, or not yet registered, when this vote opened (you checked in after it opened, or this is a replacement card issued since), so it cannot vote in this vote. It can vote from the next vote on.",
    err_unknown_credential: "Your credential is not registered for this meeting. Please ask the clerk.",
    err_revoked_credential: "Your credential has been revoked. Please ask the clerk.",
    err_bad_signature: "The ballot's signature is invalid. Please check in again.",
    err_invalid_proof: "The ballot's encryption proofs are invalid. Please ask the clerk.",
    err_malformed: "The ballot is malformed. Please ask the clerk.",
    err_unknown_vote: "There is no such vote.",
    err_too_large: "The ballot is too large. Please ask the clerk.",
    err_network: "The network is unreachable. Please check it and try again.",
    err_generic: "Something went wrong: {detail}",
    server_said: "The service said: {message}",
    back: "Back",

    closed_title: "Voting has closed",
    closed_text: "This vote has closed; you did not cast a ballot before it closed.",
    closed_after_vote: "This vote has closed.",

    results_title: "Result",
    passed: "Passed",
    not_passed: "Not passed",
    not_voted: "Not voted {count}",
    quorum_void: "Quorum was not met; this vote has no result.",
    status_elected: "Elected",
    status_elected_selection: "Selected",
    status_tied: "Tied: a new vote decides",
    status_not_elected: "Not elected",
    status_not_elected_selection: "Not selected",
    status_below_threshold: "Below the threshold",
    elected_list: "Elected: {names}",
    elected_list_selection: "Selected projects: {names}",
    none: "none",
    unfilled: "{count} seat(s) unfilled",
    unfilled_selection: "{count} project place(s) unfilled",
    grade: "Grade: {grade}",
    votes_count: "{count} votes",

    rp_title: "Receipt check",
    rp_checking: "Checking your ballot…",
    rp_ok: "✓ Your ballot is recorded in the public log (entry {index} of {size}); the log signature is valid",
    rp_vote: "Vote: {title}",
    rp_not_found: "✗ The public log has no ballot with hash {hash}. Check the QR code or ask the clerk.",
    rp_failed: "✗ The check failed: {detail}",
    rp_network: "✗ Cannot reach the service: {detail}",
    rp_details: "Technical details",
    rp_leaf_index: "Log position (leaf_index)",
    rp_tree_size: "Log size (tree_size)",
    rp_root: "Log root hash",
    rp_timestamp: "Signed at",
    rp_ballot_hash: "Ballot hash",
    rp_note: "The check runs in your phone's browser: it checks the log's signature and that your ballot is in the signed log. Neither the tracker nor the ballot reveals your choices.",
  },
};

let lang = readLang();

function readLang() {
  try {
    const stored = localStorage.getItem(LANG_KEY);
    if (stored === "en" || stored === "zh") return stored;
  } catch {
    // storage unavailable (private mode): default language
  }
  return "zh";
}

export function getLang() {
  return lang;
}

export function setLang(value) {
  lang = value === "en" ? "en" : "zh";
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    // not remembered; still switched for this page
  }
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
}

/** The message `key` in the current language, with {placeholders} filled from `params`. */
export function t(key, params = {}) {
  const template = MESSAGES[lang][key] ?? MESSAGES.zh[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** A display field of a vote/contest/option in the current language: `label_en` etc. when English. */
export function field(obj, name) {
  if (!obj) return "";
  if (lang === "en" && typeof obj[`${name}_en`] === "string") return obj[`${name}_en`];
  return typeof obj[name] === "string" ? obj[name] : "";
}

/** A budget in yuan as 万元/亿元 (or CNY million/billion in English). */
export function formatBudget(yuan) {
  if (typeof yuan !== "number" || !Number.isFinite(yuan)) return "";
  const trim = (x) => String(Math.round(x * 100) / 100);
  if (lang === "en") {
    return yuan >= 1e9 ? `CNY ${trim(yuan / 1e9)} billion` : `CNY ${trim(yuan / 1e6)} million`;
  }
  return yuan >= 1e8 ? `${trim(yuan / 1e8)} 亿元` : `${trim(yuan / 1e4)} 万元`;
}

/** A list joined with the language's separator. */
export function joinList(items) {
  return items.join(lang === "en" ? ", " : "、");
}

export function applyDocumentLang() {
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
}
