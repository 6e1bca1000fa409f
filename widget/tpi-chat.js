/*!
 * tpi-chat: the clinic assistant's chat widget. No dependencies; talks to Rasa's REST channel.
 *
 * <script src="/widget/tpi-chat.js" data-server="http://localhost:5005"
 *   data-clinic-name="Example Pain Clinic" data-nurse-phone="(555) 010-0199"
 *   data-nurse-hours="Monday to Friday, 8 am to 5 pm" data-emergency-number="911"
 *   data-primary-color="#0b5cad" defer></script>
 *
 * English by default; Spanish when the page says so (<html lang="es">, or data-lang="es"), when the
 * patient picks it with the language button, or when the bot's replies say the conversation is in
 * Spanish (a reply item {"custom": {"lang": "es"}}). The chosen language goes to the bot in each
 * message's metadata ({"language": "es"}), and every message carries its own lang attribute.
 *
 * Safety rule for anyone editing this file: message data (from the bot or the patient) only ever
 * reaches the page through textContent or validated attributes, never through an HTML parser.
 *
 * One message at a time: a conversation's next message is sent only once the previous one has its
 * answer (in this tab, and across tabs of the same conversation), and every message carries an
 * idempotency key that its retries repeat, so the server handles it once however often it is sent.
 */
(function () {
  "use strict";

  // currentScript is only set while this file first runs, so it is read before anything waits.
  var script = document.currentScript;
  if (!script) {
    var found = document.querySelectorAll("script[src*='tpi-chat']");
    script = found[found.length - 1];
  }
  // A page that pastes the tag twice must not get two launchers talking as two patients.
  if (!script || window.__tpiChat) return;
  window.__tpiChat = true;

  var data = script.dataset;
  var MAX_LENGTH = 1000;
  var TIMEOUT_MS = 30000;
  var RETRY_DELAY_MS = 1000;
  var HISTORY_LIMIT = 200;
  var cfg = {
    server: (data.server || "").replace(/\/+$/, ""),
    clinic: data.clinicName || "the clinic",
    phone: data.nursePhone || "",
    hours: data.nurseHours || "",
    hoursEs: data.nurseHoursEs || data.nurseHours || "",
    emergency: data.emergencyNumber || "911",
    color: /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(data.primaryColor || "") ? data.primaryColor : "#0b5cad"
  };
  // Keyed by server so two bots embedded on one site never share a conversation.
  var STORE_KEY = "tpi-chat:" + cfg.server;


  var TEXTS = {
    en: {
      launcher: "Chat with us", title: function () { return cfg.clinic + " assistant"; },
      subtitle: "Automated helper, not a person. Not for emergencies.",
      restart: "Start over", close: "Close", closeLabel: "Close chat", log: "Conversation",
      nurse: "Talk to a nurse", call: "Call ", label: "Your message", placeholder: "Type your question",
      send: "Send", footer: function () { return "In an emergency, call " + cfg.emergency + "."; },
      typing: "The assistant is typing", replies: "Suggested replies",
      who: { bot: "Assistant: ", user: "You said: ", notice: "Notice: " },
      left: function (n) { return n + " characters left"; },
      limit: function (n) { return "That's the most one message can hold (" + n + " characters). Send this part, then add the rest in another message."; },
      down: "Sorry, I can't reach the clinic's assistant right now.",
      slow: "Sorry, the clinic's assistant is taking too long to answer.",
      error: "Sorry, something went wrong on the clinic's side.",
      empty: "Sorry, I didn't get an answer to that.",
      reach: function () {
        return cfg.phone ? " Please call the nurse line at " + cfg.phone + (cfg.hours ? " (" + cfg.hours + ")" : "") + "."
          : " Please call the clinic.";
      },
      emergencyNow: function () { return " If this is an emergency, call " + cfg.emergency + " now."; },
      retry: "Try again", image: "Image sent by the assistant", newTab: " (opens in a new tab)",
      switchTo: "es", switchText: "Español", switchLabel: "Cambiar a español",
      helpful: "Was this helpful?", helpfulLabel: "Was this answer helpful?", yes: "Yes", no: "No",
      thanks: { yes: "Thank you for telling us.",
                no: "Thank you. The clinic reviews answers marked not helpful. You can ask in other words, or talk to a nurse." },
      feedbackFailed: "Sorry, that didn't reach the clinic. Please try again."
    },
    es: {
      launcher: "Chatee con nosotros", title: function () { return "Asistente de " + cfg.clinic; },
      subtitle: "Asistente automático, no una persona. No es para emergencias.",
      restart: "Empezar de nuevo", close: "Cerrar", closeLabel: "Cerrar el chat", log: "Conversación",
      nurse: "Hablar con una enfermera", call: "Llamar al ", label: "Su mensaje", placeholder: "Escriba su pregunta",
      send: "Enviar", footer: function () { return "En una emergencia, llame al " + cfg.emergency + "."; },
      typing: "El asistente está escribiendo", replies: "Respuestas sugeridas",
      who: { bot: "Asistente: ", user: "Usted escribió: ", notice: "Aviso: " },
      left: function (n) { return "Quedan " + n + " caracteres"; },
      limit: function (n) { return "Eso es lo más que cabe en un mensaje (" + n + " caracteres). Envíe esta parte y escriba el resto en otro mensaje."; },
      down: "Lo siento, no puedo comunicarme con el asistente de la clínica en este momento.",
      slow: "Lo siento, el asistente de la clínica está tardando demasiado en responder.",
      error: "Lo siento, algo falló del lado de la clínica.",
      empty: "Lo siento, no recibí respuesta a eso.",
      reach: function () {
        return cfg.phone ? " Por favor llame a la línea de enfermería al " + cfg.phone + (cfg.hoursEs ? " (" + cfg.hoursEs + ")" : "") + "."
          : " Por favor llame a la clínica.";
      },
      emergencyNow: function () { return " Si es una emergencia, llame al " + cfg.emergency + " ahora."; },
      retry: "Intentar de nuevo", image: "Imagen enviada por el asistente", newTab: " (se abre en una pestaña nueva)",
      switchTo: "en", switchText: "English", switchLabel: "Switch to English",
      helpful: "¿Le sirvió esta respuesta?", helpfulLabel: "¿Le sirvió esta respuesta?", yes: "Sí", no: "No",
      thanks: { yes: "Gracias por decírnoslo.",
                no: "Gracias. La clínica revisa las respuestas marcadas como no útiles. Puede preguntar con otras palabras o hablar con una enfermera." },
      feedbackFailed: "Lo siento, no llegó a la clínica. Por favor intente de nuevo."
    }
  };

  function supported(code) {
    code = String(code || "").toLowerCase().slice(0, 2);
    return TEXTS[code] ? code : null;
  }
  // The page's language: the tag's data-lang, else the document's lang; English otherwise.
  var PAGE_LANG = supported(data.lang) || supported(document.documentElement.lang) || "en";


  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, name)) node.setAttribute(name, attrs[name]);
    }
    if (text != null) node.textContent = text;
    return node;
  }

  function randomId(prefix) {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return prefix + Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  function newSender() {
    return randomId("web-");
  }

  function luminance(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    var c = [0, 2, 4].map(function (i) {
      var v = parseInt(h.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }

  // Any data-primary-color stays legible: the text colour is whichever reads better on it.
  var INK = "#1f2328";
  var onPrimary = contrast(cfg.color, "#ffffff") >= contrast(cfg.color, INK) ? "#ffffff" : INK;
  // Outlined buttons put the brand colour on white, where it needs 4.5:1 of its own.
  var accent = contrast(cfg.color, "#ffffff") >= 4.5 ? cfg.color : INK;

  // sessionStorage throws in some privacy modes; the chat must still work, just without memory.
  function load() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(STORE_KEY));
      if (saved && typeof saved.sender === "string" && Array.isArray(saved.messages)) {
        saved.lang = supported(saved.lang) || PAGE_LANG;
        return saved;
      }
    } catch (e) { /* fall through to a fresh conversation */ }
    return { sender: newSender(), messages: [], open: false, lang: PAGE_LANG };
  }

  function save() {
    state.messages = state.messages.slice(-HISTORY_LIMIT);
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (e) { /* storage full or blocked: keep going in memory */ }
  }


  function escapeRegExp(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  // The configured nurse number is matched literally because clinics write it in many formats.
  var LINK_RE = new RegExp(
    (cfg.phone ? escapeRegExp(cfg.phone) + "|" : "") +
      "\\bhttps?:\\/\\/[^\\s<>\"]+|\\btel:\\+?[\\d().\\- ]*\\d|(?:\\(\\d{3}\\) ?|\\b\\d{3}[ .\\-])\\d{3}[ .\\-]\\d{4}\\b",
    "gi"
  );

  function linkFor(raw) {
    var text = raw, href, external = false;
    if (/^https?:/i.test(raw)) {
      // Sentence punctuation after a URL belongs to the sentence, not the address.
      text = raw.replace(/[.,;:!?'"]+$/, "");
      if (/\)$/.test(text) && text.indexOf("(") < 0) text = text.slice(0, -1);
      try {
        var url = new URL(text);
        if (url.protocol !== "http:" && url.protocol !== "https:") return null;
        href = url.href;
        external = true;
      } catch (e) {
        return null;
      }
    } else {
      var digits = raw.replace(/^tel:/i, "").replace(/[^\d+]/g, "");
      if (digits.replace(/\+/g, "").length < 3) return null;
      href = "tel:" + digits;
    }
    var a = el("a", { href: href }, text);
    if (external) {
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.appendChild(el("span", { "class": "tpi-sr" }, t().newTab));
    }
    return { node: a, length: text.length };
  }

  function appendLinked(parent, text) {
    var last = 0, match;
    LINK_RE.lastIndex = 0;
    while ((match = LINK_RE.exec(text))) {
      var link = linkFor(match[0]);
      if (!link) continue;
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      parent.appendChild(link.node);
      last = match.index + link.length;
      LINK_RE.lastIndex = last;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }


  var state = load();
  function t() { return TEXTS[state.lang] || TEXTS.en; }
  var epoch = 0;
  var pending = 0;
  var queue = Promise.resolve();

  var root = el("div", { "class": "tpi-chat" });
  root.style.setProperty("--tpi-primary", cfg.color);
  root.style.setProperty("--tpi-on-primary", onPrimary);
  root.style.setProperty("--tpi-accent", accent);

  var launcher = el("button", {
    type: "button", "class": "tpi-launcher", "aria-expanded": "false", "aria-controls": "tpi-panel"
  });

  var panel = el("div", {
    id: "tpi-panel", "class": "tpi-panel", role: "dialog", "aria-labelledby": "tpi-title",
    "aria-describedby": "tpi-subtitle"
  });
  panel.hidden = true;

  var header = el("div", { "class": "tpi-header" });
  var titles = el("div", { "class": "tpi-titles" });
  var titleNode = el("h2", { id: "tpi-title", "class": "tpi-title" });
  var subtitleNode = el("p", { id: "tpi-subtitle", "class": "tpi-subtitle" });
  titles.appendChild(titleNode);
  titles.appendChild(subtitleNode);
  // Named in the language it switches to, and marked as such for screen readers.
  var languageButton = el("button", { type: "button", "class": "tpi-head-btn tpi-language" });
  var restartButton = el("button", { type: "button", "class": "tpi-head-btn tpi-restart" });
  var closeButton = el("button", { type: "button", "class": "tpi-head-btn tpi-close" });
  header.appendChild(titles);
  header.appendChild(languageButton);
  header.appendChild(restartButton);
  header.appendChild(closeButton);

  // tabindex lets keyboard users scroll a long conversation; the log role makes screen readers
  // read each new message once, politely, without moving focus.
  var log = el("div", {
    "class": "tpi-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0"
  });

  var status = el("div", { "class": "tpi-status", role: "status" });

  var actions = el("div", { "class": "tpi-actions" });
  var nurseButton = el("button", { type: "button", "class": "tpi-nurse" });
  actions.appendChild(nurseButton);
  var callLink = null;
  if (cfg.phone) {
    var call = linkFor("tel:" + cfg.phone);
    if (call) {
      callLink = call.node;
      callLink.className = "tpi-call";
      actions.appendChild(callLink);
    }
  }

  var form = el("form", { "class": "tpi-form", novalidate: "" });
  var label = el("label", { "for": "tpi-input", "class": "tpi-sr" });
  var input = el("textarea", {
    id: "tpi-input", "class": "tpi-input", rows: "1", maxlength: String(MAX_LENGTH),
    autocomplete: "off", "aria-describedby": "tpi-count"
  });
  var sendButton = el("button", { type: "submit", "class": "tpi-send" });
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendButton);
  var count = el("p", { id: "tpi-count", "class": "tpi-count" });
  var limitNote = el("p", { "class": "tpi-limit", "aria-live": "polite" });
  var footer = el("p", { "class": "tpi-footer" });

  // The widget's own words in the conversation's language; messages keep the lang they came in.
  function applyLanguage() {
    var words = t();
    root.setAttribute("lang", state.lang);
    launcher.textContent = words.launcher;
    titleNode.textContent = words.title();
    subtitleNode.textContent = words.subtitle;
    languageButton.textContent = words.switchText;
    languageButton.setAttribute("lang", words.switchTo);
    languageButton.setAttribute("aria-label", words.switchLabel);
    restartButton.textContent = words.restart;
    closeButton.textContent = words.close;
    closeButton.setAttribute("aria-label", words.closeLabel);
    log.setAttribute("aria-label", words.log);
    nurseButton.textContent = words.nurse;
    if (callLink) callLink.textContent = words.call + cfg.phone;
    label.textContent = words.label;
    input.setAttribute("placeholder", words.placeholder);
    sendButton.textContent = words.send;
    footer.textContent = words.footer();
    var groups = log.querySelectorAll(".tpi-replies");
    for (var i = 0; i < groups.length; i++) groups[i].setAttribute("aria-label", words.replies);
    if (count.textContent || limitNote.textContent) updateCount();
  }

  [header, log, status, actions, form, count, limitNote, footer].forEach(function (n) {
    panel.appendChild(n);
  });
  root.appendChild(launcher);
  root.appendChild(panel);


  function renderMessage(m, withReplies) {
    var item = el("div", { "class": "tpi-msg tpi-" + m.who });
    var lang = supported(m.lang);
    if (lang) item.setAttribute("lang", lang);
    item.appendChild(el("span", { "class": "tpi-sr" }, (TEXTS[lang] || t()).who[m.who] || ""));
    if (m.who === "user") {
      // The patient's own words are shown exactly as typed, line breaks included.
      item.appendChild(el("p", { "class": "tpi-text tpi-pre" }, m.text));
    } else if (m.text) {
      m.text.split(/\r?\n/).forEach(function (line) {
        if (!line.trim()) return;
        var isSource = /^\s*(From|Fuente):/.test(line);
        var p = el("p", { "class": isSource ? "tpi-source" : "tpi-text" });
        appendLinked(p, line.trim());
        item.appendChild(p);
      });
    }
    if (m.image && /^https?:\/\//i.test(m.image)) {
      var img = el("img", { "class": "tpi-image", alt: (TEXTS[lang] || t()).image });
      img.src = m.image;
      item.appendChild(img);
    }
    log.appendChild(item);
    if (m.who === "bot" && isAnswer(m)) renderFeedback(m);
    if (withReplies && m.buttons && m.buttons.length) renderReplies(m);
    return item;
  }


  // An answer from the clinic's documents names its source on a "From:" ("Fuente:") line.
  function isAnswer(m) {
    return typeof m.text === "string" && /(^|\n)\s*(From|Fuente):/.test(m.text);
  }

  // In the answer's own language, like the answer.
  function feedbackWords(m) {
    return TEXTS[supported(m.lang)] || t();
  }

  function renderFeedback(m) {
    var words = feedbackWords(m);
    var row = el("div", { "class": "tpi-feedback", role: "group", "aria-label": words.helpfulLabel });
    if (supported(m.lang)) row.setAttribute("lang", supported(m.lang));
    if (m.feedback) {
      row.appendChild(el("p", { "class": "tpi-feedback-done" }, words.thanks[m.feedback]));
    } else {
      row.appendChild(el("span", { "class": "tpi-feedback-q", "aria-hidden": "true" }, words.helpful));
      [["yes", words.yes], ["no", words.no]].forEach(function (choice) {
        var button = el("button", { type: "button", "class": "tpi-fb tpi-fb-" + choice[0] }, choice[1]);
        button.addEventListener("click", function () { sendFeedback(m, choice[0], row); });
        row.appendChild(button);
      });
    }
    log.appendChild(row);
    return row;
  }

  // Sent beside the conversation, not into it: the feedback endpoint records the vote in the
  // conversation's record without a reply, so it can never be taken as an answer to a question.
  function sendFeedback(m, value, row) {
    var words = feedbackWords(m);
    var buttons = row.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    var sender = state.sender;
    fetch(cfg.server + "/webhooks/feedback/webhook", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender, answer: m.text, helpful: value === "yes" }),
      credentials: "omit"
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      m.feedback = value;
      save();
      while (row.firstChild) row.removeChild(row.firstChild);
      var done = el("p", { "class": "tpi-feedback-done", role: "status", tabindex: "-1" }, words.thanks[value]);
      row.appendChild(done);
      // The button pressed is gone: keep the keyboard where it was, on the thanks.
      done.focus();
    }).catch(function () {
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = false;
      var failed = row.querySelector(".tpi-feedback-error");
      if (!failed) {
        failed = el("span", { "class": "tpi-feedback-error", role: "status" });
        row.appendChild(failed);
      }
      failed.textContent = words.feedbackFailed;
    });
  }

  function renderReplies(m) {
    var group = el("div", { "class": "tpi-replies", role: "group", "aria-label": t().replies });
    if (supported(m.lang)) group.setAttribute("lang", m.lang);
    m.buttons.forEach(function (b) {
      if (!b || typeof b.title !== "string" || typeof b.payload !== "string") return;
      var button = el("button", { type: "button", "class": "tpi-reply" }, b.title);
      button.addEventListener("click", function (e) {
        if (b.retry) {
          // A used "Try again" must not come back with the history after a reload. It resends the
          // message under its first key: if the server did handle it, it answers without doing so twice.
          delete m.buttons;
          save();
          clearReplies();
          post(b.payload, typeof b.key === "string" ? b.key : null);
        } else {
          send(b.payload, b.title);
        }
        // The clicked button is gone, so focus must land somewhere inside the panel.
        focusAfter(e);
      });
      group.appendChild(button);
    });
    log.appendChild(group);
  }

  function clearReplies() {
    var groups = log.querySelectorAll(".tpi-replies");
    for (var i = 0; i < groups.length; i++) groups[i].parentNode.removeChild(groups[i]);
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  // A long answer is read from its first line, so the view stops there rather than at its end.
  function scrollToShow(item) {
    log.scrollTop = Math.min(log.scrollHeight - log.clientHeight, item.offsetTop - 8);
  }

  function addMessage(m) {
    if (m.who === "user") clearReplies();
    state.messages.push(m);
    save();
    var item = renderMessage(m, true);
    scrollToEnd();
    return item;
  }

  function renderAll() {
    while (log.firstChild) log.removeChild(log.firstChild);
    var lastUser = -1;
    state.messages.forEach(function (m, i) { if (m.who === "user") lastUser = i; });
    state.messages.forEach(function (m, i) { renderMessage(m, i > lastUser); });
  }

  function notice(kind, payload, key) {
    var words = t();
    addMessage({
      who: "notice",
      lang: state.lang,
      text: (words[kind] || words.down) + words.reach() + words.emergencyNow(),
      buttons: [{ title: words.retry, payload: payload, retry: true, key: key }]
    });
  }


  function setTyping(on) {
    if (on && !status.firstChild) {
      var typing = el("div", { "class": "tpi-typing" });
      for (var i = 0; i < 3; i++) typing.appendChild(el("span", { "class": "tpi-dot", "aria-hidden": "true" }));
      typing.appendChild(el("span", { "class": "tpi-sr" }, t().typing));
      status.appendChild(typing);
    } else if (!on) {
      while (status.firstChild) status.removeChild(status.firstChild);
    }
  }

  function requestOnce(payload, sender, key) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    return fetch(cfg.server + "/webhooks/rest/webhook", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        sender: sender, message: payload, metadata: { idempotency_key: key, language: state.lang }
      }),
      credentials: "omit",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      clearTimeout(timer);
      if (!response.ok) throw { kind: "error", status: response.status };
      return response.json().catch(function () { throw { kind: "error" }; });
    }, function (err) {
      clearTimeout(timer);
      throw { kind: err && err.name === "AbortError" ? "slow" : "down" };
    });
  }

  // A lost connection or a replica that is down or busy (502, 503, 504) gets one more try after a
  // pause, under the same key, before the patient is told.
  function request(payload, sender, key) {
    return requestOnce(payload, sender, key).catch(function (err) {
      if (err.kind !== "down" && [502, 503, 504].indexOf(err.status) < 0) throw err;
      return new Promise(function (resolve) { setTimeout(resolve, RETRY_DELAY_MS); }).then(function () {
        return requestOnce(payload, sender, key);
      });
    });
  }

  // A duplicated tab shares the conversation: the browser's Web Locks keep its tabs from sending
  // at the same time too (where there are none, each tab still sends one message at a time).
  function oneAtATime(sender, task) {
    var locks = window.navigator.locks;
    return locks && locks.request ? locks.request(STORE_KEY + ":" + sender, task) : task();
  }

  // Replies are shown in the order the patient asked, even if they type faster than the bot: a
  // message is sent only when the one before it has its answer.
  function post(payload, key) {
    var mine = epoch, sender = state.sender;
    key = key || randomId("m-");
    pending++;
    setTyping(true);
    queue = queue.then(function () {
      return oneAtATime(sender, function () { return request(payload, sender, key); }).then(function (replies) {
        if (mine !== epoch) return;
        var first = null;
        var items = (Array.isArray(replies) ? replies : []).filter(function (r) {
          return r && !(r.recipient_id && r.recipient_id !== sender);
        });
        // Spanish replies carry {"custom": {"lang": "es"}}; the widget follows the replies' language.
        var said = items.some(function (r) { return typeof r.text === "string" && r.text; });
        var marked = null;
        items.forEach(function (r) {
          if (r.custom && typeof r.custom === "object" && supported(r.custom.lang)) marked = supported(r.custom.lang);
        });
        var replyLang = marked || "en";
        if (said && replyLang !== state.lang) {
          state.lang = replyLang;
          applyLanguage();
        }
        items.forEach(function (r) {
          var m = { who: "bot", lang: replyLang, text: typeof r.text === "string" ? r.text : "" };
          if (Array.isArray(r.buttons)) m.buttons = r.buttons;
          if (typeof r.image === "string") m.image = r.image;
          if (m.text || m.buttons || m.image) {
            var item = addMessage(m);
            first = first || item;
          }
        });
        if (first) scrollToShow(first);
        // An empty answer was an answer: trying again asks anew, under a new key.
        else notice("empty", payload, null);
      }, function (err) {
        if (mine === epoch) notice(err.kind || "down", payload, key);
      }).then(function () {
        if (mine !== epoch) return;
        pending--;
        if (!pending) setTyping(false);
      });
    });
  }

  function send(payload, shown) {
    addMessage({ who: "user", text: shown });
    post(payload);
  }


  // Keyboard users continue in the message box. A tap on a phone goes to the conversation instead,
  // so the on-screen keyboard does not pop up over the answer the patient is about to read.
  function focusAfter(e) {
    var tapped = e && e.detail > 0 && window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
    (tapped ? log : input).focus();
  }

  function openPanel(moveFocus) {
    panel.hidden = false;
    root.classList.add("tpi-open");
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    save();
    if (!state.messages.length && !pending) post(greeting());
    scrollToEnd();
    if (moveFocus) focusAfter(moveFocus);
  }

  function closePanel() {
    panel.hidden = true;
    root.classList.remove("tpi-open");
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    save();
    launcher.focus();
  }

  function startOver(e) {
    epoch++;
    pending = 0;
    queue = Promise.resolve();
    setTyping(false);
    state = { sender: newSender(), messages: [], open: true, lang: state.lang };
    renderAll();
    save();
    post(greeting());
    focusAfter(e);
  }

  // The greeting says the widget's language, so the first answer comes in it (English, the
  // bot's default, needs saying only when the patient switches back to it).
  function greeting(switched) {
    return state.lang === "en" && !switched ? "/greet" : "/greet" + JSON.stringify({ language: state.lang });
  }

  // The patient picks the other language: the widget's words change at once, and the bot greets
  // them again in it (the greeting carries the emergency and crisis numbers).
  function switchLanguage(e) {
    state.lang = t().switchTo;
    save();
    applyLanguage();
    clearReplies();
    post(greeting(true));
    focusAfter(e);
  }

  function updateCount() {
    var left = MAX_LENGTH - input.value.length;
    count.textContent = left <= 200 ? t().left(left) : "";
    var atLimit = left <= 0;
    if (atLimit !== !!limitNote.textContent || (atLimit && limitNote.textContent !== t().limit(MAX_LENGTH))) {
      limitNote.textContent = atLimit ? t().limit(MAX_LENGTH) : "";
    }
  }

  function submit() {
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    updateCount();
    autosize();
    send(text.slice(0, MAX_LENGTH), text.slice(0, MAX_LENGTH));
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  launcher.addEventListener("click", function (e) {
    if (state.open) closePanel(); else openPanel(e);
  });
  closeButton.addEventListener("click", closePanel);
  restartButton.addEventListener("click", startOver);
  languageButton.addEventListener("click", switchLanguage);
  nurseButton.addEventListener("click", function () { send("/request_nurse", t().nurse); });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    submit();
  });
  input.addEventListener("keydown", function (e) {
    // Enter sends; Shift+Enter is a new line; an IME composition's Enter only confirms the word.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", function () {
    updateCount();
    autosize();
  });
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && state.open) {
      e.preventDefault();
      closePanel();
    }
  });

  function start() {
    // The stylesheet sits beside the script, so one tag is all a clinic has to paste.
    if (data.stylesheet !== "none") {
      var css = el("link", { rel: "stylesheet", href: data.stylesheet || new URL("tpi-chat.css", script.src).href });
      document.head.appendChild(css);
    }
    // History is drawn before the widget joins the page, so a reload does not re-announce it.
    applyLanguage();
    renderAll();
    document.body.appendChild(root);
    if (state.open) openPanel(false);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
