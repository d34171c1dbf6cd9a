// Entry of the browser bundle (make assets -> web/static/vendor/complaints-lint/complaints-lint.js):
// bpmnlint's Linter with the project's plugin, as window.ComplaintsLint.
import { Linter } from "bpmnlint";
import StaticResolver from "bpmnlint/lib/resolver/static-resolver";
import { BpmnModdle } from "bpmn-moddle";
import { RULES } from "./lint-rules.js";

var PLUGIN = "bpmnlint-plugin-complaints";
var cache = {};
var config = { rules: {} };
Object.keys(RULES).forEach(function (name) {
  cache["rule:" + PLUGIN + "/" + name] = RULES[name];
  config.rules["complaints/" + name] = "error";
});
cache["config:" + PLUGIN + "/recommended"] = config;

var linter = new Linter({ config: config, resolver: new StaticResolver(cache) });

// [{rule, id, message}] for a moddle root (bpmn-js: modeler.getDefinitions()).
function lint(definitions) {
  return linter.lint(definitions).then(function (results) {
    var found = [];
    Object.keys(results).forEach(function (name) {
      results[name].forEach(function (report) {
        found.push({ rule: name.replace(/^complaints\//, ""), id: report.id, message: report.message });
      });
    });
    return found;
  });
}

// The same on a diagram's XML (the tests run the plugin on tests/engine/lint_cases/).
function lintXml(xml) {
  return new BpmnModdle().fromXML(xml).then(function (parsed) { return lint(parsed.rootElement); });
}

window.ComplaintsLint = { lint: lint, lintXml: lintXml, rules: Object.keys(RULES) };
