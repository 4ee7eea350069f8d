/* 信息桥 portal: the few behaviours htmx does not give us. No inline scripts (CSP: 'self'). */
(function () {
  "use strict";

  var MESSAGES = {
    0: "网络连接失败，请检查网络后重试。",
    400: "请求无效，请刷新页面后重试。",
    401: "登录已过期，请重新登录。",
    403: "您没有权限执行此操作。",
    404: "找不到该页面或对象。",
    413: "上传的内容过大。",
    422: "提交的内容有误，请检查后重试。",
    500: "系统出现错误，请稍后再试。"
  };

  function csrfToken() {
    var holder = document.querySelector("[data-csrf-token]");
    return holder ? holder.getAttribute("data-csrf-token") : "";
  }

  function armToast(toast) {
    if (toast.hasAttribute("data-armed")) return;
    toast.setAttribute("data-armed", "1");
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "关闭提示");
    close.textContent = "×";
    close.addEventListener("click", function () { toast.remove(); });
    toast.appendChild(close);
    var lasting = toast.classList.contains("toast-error") ? 10000 : 5000;
    window.setTimeout(function () { toast.remove(); }, lasting);
  }

  function armToasts(root) {
    (root || document).querySelectorAll(".toast").forEach(armToast);
  }

  function showToast(message, level) {
    var region = document.getElementById("toasts");
    if (!region || !message) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (level || "info");
    toast.setAttribute("role", level === "error" ? "alert" : "status");
    toast.textContent = message;
    region.appendChild(toast);
    armToast(toast);
  }

  // Filter forms marked data-compact-url leave out empty fields and fields at their default
  // (data-default), so the address they put in the bar, to bookmark or forward, names only the
  // filters in use.
  function dropUnusedFields(form, formData) {
    var unused = [];
    formData.forEach(function (value, key) {
      var values = formData.getAll(key);
      if (unused.indexOf(key) < 0 && values.every(function (v) { return v === ""; })) unused.push(key);
    });
    form.querySelectorAll("[data-default][name]").forEach(function (field) {
      if (formData.get(field.name) === field.dataset.default) unused.push(field.name);
    });
    unused.forEach(function (key) { formData.delete(key); });
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRFToken"] = csrfToken();
    var form = evt.detail.elt && evt.detail.elt.closest && evt.detail.elt.closest("[data-compact-url]");
    if (evt.detail.verb === "get" && form) dropUnusedFields(form, evt.detail.formData);
  });

  document.addEventListener("xqb:toast", function (evt) {
    var detail = evt.detail || {};
    showToast(detail.message, detail.level);
  });

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    // The server already explained itself through HX-Trigger: do not say it twice.
    if (xhr && xhr.getResponseHeader("HX-Trigger")) return;
    var status = xhr ? xhr.status : 0;
    showToast(MESSAGES[status] || MESSAGES[500], "error");
  });

  document.addEventListener("htmx:sendError", function () {
    showToast(MESSAGES[0], "error");
  });

  // Destructive actions ask first: <form data-confirm="…">, with or without htmx.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);

  // The header search: "/" focuses it; arrow keys move through the suggestions; Escape closes.
  function suggestLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#search-suggest a"));
  }

  document.addEventListener("keydown", function (evt) {
    var box = document.getElementById("header-q");
    if (!box) return;
    var active = document.activeElement;
    var typing = active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName));
    if (evt.key === "/" && !typing) {
      evt.preventDefault();
      box.focus();
      box.select();
      return;
    }
    var links = suggestLinks();
    var inSearch = active === box || links.indexOf(active) !== -1;
    if (!inSearch) return;
    if (evt.key === "Escape") {
      document.getElementById("search-suggest").innerHTML = "";
      box.focus();
    } else if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
      if (!links.length) return;
      evt.preventDefault();
      var at = links.indexOf(active);
      var next = evt.key === "ArrowDown" ? at + 1 : at - 1;
      if (next < 0) { box.focus(); return; }
      links[Math.min(next, links.length - 1)].focus();
    }
  });

  document.addEventListener("click", function (evt) {
    var holder = document.querySelector("[data-search-box]");
    var list = document.getElementById("search-suggest");
    if (holder && list && !holder.contains(evt.target)) list.innerHTML = "";
  });

  document.addEventListener("htmx:afterSettle", function () { armToasts(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { armToasts(document); });
  } else {
    armToasts(document);
  }
})();
