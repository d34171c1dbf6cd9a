// The project's modeling rules as a bpmnlint plugin (issue 17). Same ids and same elements as
// engine/lint.py, which the server runs at save: what the canvas marks while the owner draws is
// what saving reports. tests/engine/lint_cases/<rule>.bpmn is each rule's case for both.

function localName(type) { return String(type || "").split(":").pop(); }

function is(node, type) { return node && node.$instanceOf && node.$instanceOf(type); }

// spiffworkflow:properties are generic (unknown namespace) elements: their children carry name/value.
function properties(node) {
  var found = {};
  var values = (node.extensionElements && node.extensionElements.values) || [];
  values.forEach(function (value) {
    if (localName(value.$type) !== "properties") { return; }
    (value.$children || []).forEach(function (child) {
      if (!(child.name in found)) { found[child.name] = String(child.value || "").trim(); }
    });
  });
  return found;
}

function kind(node) {
  return localName(node.$type).replace(/([A-Z])/g, function (c) { return " " + c.toLowerCase(); }).trim();
}

var FORM_MESSAGE = "user task has no form: add the spiffworkflow property formJsonSchemaFilename naming a file in forms/";

function userTaskForm() {
  return {
    check: function (node, reporter) {
      if (is(node, "bpmn:UserTask") && !properties(node).formJsonSchemaFilename) {
        reporter.report(node.id, FORM_MESSAGE);
      }
    }
  };
}

function laneRefs(laneSets, into) {
  (laneSets || []).forEach(function (set) {
    (set.lanes || []).forEach(function (lane) {
      (lane.flowNodeRef || []).forEach(function (ref) { into[ref.id] = true; });
      if (lane.childLaneSet) { laneRefs([lane.childLaneSet], into); }
    });
  });
  return into;
}

function hasLanes(laneSets) {
  return (laneSets || []).some(function (set) { return (set.lanes || []).length > 0; });
}

function userTaskLane() {
  return {
    check: function (node, reporter) {
      if (!is(node, "bpmn:Process") || !hasLanes(node.laneSets)) { return; }
      var inLanes = laneRefs(node.laneSets, {});
      (function walk(elements, enclosed) {
        (elements || []).forEach(function (element) {
          var inside = enclosed || !!inLanes[element.id];
          if ((is(element, "bpmn:UserTask") || is(element, "bpmn:ManualTask")) && !inside) {
            reporter.report(element.id, kind(element) + " is in no lane, so nobody would be offered it");
          }
          if (is(element, "bpmn:SubProcess")) { walk(element.flowElements, inside); }
        });
      })(node.flowElements, false);
    }
  };
}

function isTimer(node) {
  return (is(node, "bpmn:BoundaryEvent") || is(node, "bpmn:StartEvent") || is(node, "bpmn:IntermediateCatchEvent")) &&
    (node.eventDefinitions || []).some(function (d) { return is(d, "bpmn:TimerEventDefinition"); });
}

function deadlineTimerProperties() {
  return {
    check: function (node, reporter) {
      if (!isTimer(node)) { return; }
      var props = properties(node);
      if (props.clock && !props.figure) {
        reporter.report(node.id, "deadline timer with clock '" + props.clock + "' has no 'figure' property " +
          "(the procedure.toml key whose figure it shows)");
      } else if (props.figure && !props.clock) {
        reporter.report(node.id, "deadline timer with figure '" + props.figure + "' has no 'clock' property " +
          "(the rule id it measures)");
      }
    }
  };
}

function deadlineTimerPlacement() {
  return {
    check: function (node, reporter) {
      if (!isTimer(node)) { return; }
      var props = properties(node);
      if (!props.clock && !props.figure) { return; }
      var parent = node.$parent;
      var eventSubprocess = is(node, "bpmn:StartEvent") && is(parent, "bpmn:SubProcess") && parent.triggeredByEvent;
      if (!is(node, "bpmn:BoundaryEvent") && !eventSubprocess) {
        reporter.report(node.id, "deadline timer '" + (props.clock || props.figure) + "' is a " + kind(node) +
          ": a deadline is a boundary timer on the task, subprocess or call activity it guards, or the timer " +
          "start of an event subprocess guarding a whole path");
      }
    }
  };
}

function gatewayConditions() {
  return {
    check: function (node, reporter) {
      if (!is(node, "bpmn:ExclusiveGateway") && !is(node, "bpmn:InclusiveGateway")) { return; }
      // By sourceRef (as the server reads them): <bpmn:outgoing> lists are optional in a file.
      var flows = ((node.$parent && node.$parent.flowElements) || []).filter(function (element) {
        return is(element, "bpmn:SequenceFlow") && element.sourceRef === node;
      });
      if (flows.length < 2) { return; }
      flows.forEach(function (flow) {
        if (node.default === flow) { return; }
        var condition = flow.conditionExpression && String(flow.conditionExpression.body || "").trim();
        if (!condition) {
          reporter.report(flow.id, "flow leaves " + kind(node) + " '" + (node.name || node.id) + "' without a " +
            "condition: give it one, or make it the gateway's default flow");
        }
      });
    }
  };
}

export var RULES = {
  "user-task-form": userTaskForm,
  "user-task-lane": userTaskLane,
  "deadline-timer-properties": deadlineTimerProperties,
  "deadline-timer-placement": deadlineTimerPlacement,
  "gateway-conditions": gatewayConditions
};
