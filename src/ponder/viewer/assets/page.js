// ponder trace viewer: draws the run tree embedded in #run-data. No network access.
(function () {
  "use strict";
  var payload = JSON.parse(document.getElementById("run-data").textContent);
  var tree = payload.tree;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function cost(node) {
    var parts = [];
    var usage = node.usage || {};
    if (usage.total_tokens !== undefined) {
      parts.push(usage.prompt_tokens + " prompt + " + usage.completion_tokens + " completion tokens");
    }
    if (usage.model_calls !== undefined && node.type === "run") parts.push(usage.model_calls + " model calls");
    if (typeof node.seconds === "number") parts.push(node.seconds.toFixed(2) + " s");
    return parts.join(" · ");
  }

  function section(body, label, text) {
    body.appendChild(el("div", "label", label));
    body.appendChild(el("pre", label.replace(/\W+/g, "-"), text));
  }

  function fillBody(node, body) {
    if (node.type === "run") {
      section(body, "question", node.question);
      section(body, "answer", node.answer === null || node.answer === undefined ? "(no answer)" : node.answer);
      body.appendChild(el("div", "stop", "stop reason: " + (node.stop_reason || "unfinished") + (node.detail ? " (" + node.detail + ")" : "")));
    } else if (node.type === "call") {
      body.appendChild(el("div", "label", "prompt"));
      var prompt = el("div", "prompt");
      (node.messages || []).forEach(function (m) {
        prompt.appendChild(el("div", "msg-role", m.role));
        prompt.appendChild(el("pre", "msg", m.content));
      });
      body.appendChild(prompt);
      section(body, "output", node.output);
      body.appendChild(el("div", "cost", "finish: " + node.finish_reason + " · " + cost(node)));
      if (node.options) section(body, "options", JSON.stringify(node.options));
    } else if (node.type === "tool") {
      section(body, "arguments", typeof node.arguments === "string" ? node.arguments : JSON.stringify(node.arguments));
      section(body, "output", (node.output || "") + (node.error ? "\nError: " + node.error : ""));
    } else if (node.type === "thought") {
      section(body, "thought", node.text);
      section(body, "data", JSON.stringify(node.data));
    } else {
      section(body, "text", node.output);
      if (node.data && Object.keys(node.data).length) section(body, "data", JSON.stringify(node.data));
    }
  }

  function draw(node) {
    var li = el("li", "node t-" + node.type);
    var head = el("span", "head");
    head.appendChild(el("span", "badge", node.type === "call" ? node.kind : node.type));
    head.appendChild(el("span", "title", node.label));
    var c = cost(node);
    if (c) head.appendChild(el("span", "cost", c));
    li.appendChild(head);
    var body = el("div", "body");
    var filled = false;
    head.addEventListener("click", function () {
      if (!filled) { fillBody(node, body); filled = true; }
      li.classList.toggle("open");
    });
    li.appendChild(body);
    if (node.children && node.children.length) {
      var ul = el("ul", "children");
      node.children.forEach(function (child) { ul.appendChild(draw(child)); });
      li.appendChild(ul);
    }
    return li;
  }

  var summary = document.getElementById("summary");
  summary.appendChild(el("h1", null, tree.question || tree.label));
  summary.appendChild(el("div", "meta", tree.strategy + " on " + tree.model + " · run " + tree.run_id + " · " + cost(tree)));
  summary.appendChild(el("div", "answer", tree.answer === null || tree.answer === undefined ? "(no answer)" : tree.answer));
  summary.appendChild(el("div", "stop", "stop reason: " + (tree.stop_reason || "unfinished") + (tree.detail ? " (" + tree.detail + ")" : "")));
  var root = draw(tree);
  document.getElementById("tree").appendChild(root);
  root.querySelector(".head").click(); // the run itself starts open

  function setAll(open) {
    document.querySelectorAll("li.node").forEach(function (li) {
      if (open && !li.classList.contains("open")) li.querySelector(".head").click();
      if (!open && li.classList.contains("open")) li.querySelector(".head").click();
    });
  }
  document.getElementById("expand-all").addEventListener("click", function () { setAll(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { setAll(false); });
})();
