// The calendars tab (issue 17): the working-time calendars of procedure.toml ([calendars.*]) as
// a week view and a year view, edited as forms, with a tester. The tester asks the server, which
// computes the due instant with engine/calendar.py: the arithmetic the deadlines themselves use.
(function () {
  "use strict";

  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var PX_PER_HOUR = 8;

  var el = ModelerPanel.el;
  var make = ModelerPanel.make;

  function minutes(hhmm) {
    var parts = hhmm.split(":");
    return parseInt(parts[0], 10) * 60 + parseInt(parts[1], 10);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function isoDate(d) { return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()); }

  function gaps(windows) {
    var sorted = windows.slice().sort();
    var found = [];
    for (var i = 1; i < sorted.length; i += 1) {
      var end = sorted[i - 1].split("-")[1];
      var start = sorted[i].split("-")[0];
      if (minutes(start) > minutes(end)) { found.push(end + "-" + start); }
    }
    return found;
  }

  function start(modeler) {
    var root = modeler.root;
    var box = el("calendars");
    var tabs = el("editor-tabs");
    if (!box) { return; }
    var api = modeler.api;
    var W = modeler.words;
    var state = { calendars: {}, name: null, year: new Date().getFullYear(),
                  start: null, hours: "2", minutes: "0" };

    function edit(field, value) {
      return api.editSettings("set", ["calendars", state.name, field], value);
    }

    function daysOf(calendar) { return calendar.days && calendar.days.length ? calendar.days : []; }

    function windowsOn(calendar, day) {
      if (daysOf(calendar).indexOf(day) < 0) { return []; }
      return (calendar.weekly && calendar.weekly[day]) || calendar.windows;
    }

    // ------------------------------------------------------------------ the week

    function weekView(calendar) {
      var week = make("div", { className: "week-view", id: "week-view" });
      DAYS.forEach(function (day) {
        var column = make("div", { className: "week-day", "data-day": day }, [make("div", { className: "week-day-name", text: W["weekday_" + day] })]);
        var bar = make("div", { className: "week-bar", style: "height:" + 24 * PX_PER_HOUR + "px" });
        windowsOn(calendar, day).forEach(function (window) {
          var parts = window.split("-");
          var top = minutes(parts[0]) / 60 * PX_PER_HOUR;
          var height = (minutes(parts[1]) - minutes(parts[0])) / 60 * PX_PER_HOUR;
          bar.appendChild(make("div", { className: "week-window", title: window, text: window,
                                        style: "top:" + top + "px;height:" + height + "px" }));
        });
        column.appendChild(bar);
        // This weekday's own windows (an override of the day's windows); empty: as every day.
        var own = make("input", { type: "text", className: "week-own", "data-day": day, size: 6,
                                  value: ((calendar.weekly || {})[day] || []).join(", "),
                                  placeholder: W.as_every_day, "aria-label": W["weekday_" + day] + " " + W.own_windows,
                                  disabled: daysOf(calendar).indexOf(day) < 0 });
        own.addEventListener("change", function () {
          var weekly = Object.assign({}, calendar.weekly || {});
          var windows = own.value.split(/[,，\s]+/).filter(Boolean);
          if (windows.length) { weekly[day] = windows; } else { delete weekly[day]; }
          edit("weekly", weekly);
        });
        column.appendChild(own);
        week.appendChild(column);
      });
      return week;
    }

    function windowEditor(calendar) {
      var list = make("ul", { className: "calendar-windows", id: "calendar-windows" });
      calendar.windows.forEach(function (window, index) {
        var parts = window.split("-");
        var from = make("input", { type: "time", value: parts[0], "aria-label": W.window_from, "data-part": "from" });
        var to = make("input", { type: "time", value: parts[1] === "24:00" ? "23:59" : parts[1], "aria-label": W.window_to, "data-part": "to" });
        function changed() {
          var windows = calendar.windows.slice();
          windows[index] = from.value + "-" + to.value;
          edit("windows", windows);
        }
        from.addEventListener("change", changed);
        to.addEventListener("change", changed);
        var remove = make("button", { type: "button", text: W.remove });
        remove.addEventListener("click", function () {
          edit("windows", calendar.windows.filter(function (w, i) { return i !== index; }));
        });
        list.appendChild(make("li", {}, [from, make("span", { text: " – " }), to, remove]));
      });
      var add = make("button", { type: "button", text: W.add_window });
      add.addEventListener("click", function () { edit("windows", calendar.windows.concat(["20:00-21:00"])); });
      var breaks = gaps(calendar.windows);
      return make("div", {}, [make("h4", { text: W.windows }), list, add,
        make("p", { className: "muted", id: "calendar-breaks", text: breaks.length ? W.breaks + " " + breaks.join(", ") : "" })]);
    }

    function dayChooser(calendar) {
      var row = make("p", { className: "calendar-days" });
      DAYS.forEach(function (day) {
        var box = make("input", { type: "checkbox", checked: daysOf(calendar).indexOf(day) >= 0, "data-day": day });
        box.addEventListener("change", function () {
          edit("days", DAYS.filter(function (d) {
            return d === day ? box.checked : daysOf(calendar).indexOf(d) >= 0;
          }));
        });
        row.appendChild(make("label", { className: "check" }, [box, document.createTextNode(" " + W["weekday_" + day])]));
      });
      return make("div", {}, [make("h4", { text: W.working_days }), row]);
    }

    // ------------------------------------------------------------------ dates

    function dateList(calendar, field, title, id) {
      var list = make("ul", { className: "calendar-dates", id: id });
      (calendar[field] || []).forEach(function (day) {
        var remove = make("button", { type: "button", text: W.remove, "aria-label": W.remove + " " + day });
        remove.addEventListener("click", function () {
          edit(field, calendar[field].filter(function (d) { return d !== day; }));
        });
        list.appendChild(make("li", { "data-date": day }, [make("span", { text: day + " " }), remove]));
      });
      var input = make("input", { type: "date", "aria-label": title, "data-part": field });
      var add = make("button", { type: "button", text: W.add, "data-action": "add-" + field });
      add.addEventListener("click", function () {
        if (!input.value || (calendar[field] || []).indexOf(input.value) >= 0) { return; }
        edit(field, (calendar[field] || []).concat([input.value]).sort());
      });
      return make("div", { className: "calendar-date-list" }, [make("h4", { text: title }), list, input, add]);
    }

    function yearView(calendar) {
      var holder = make("div", { className: "year-view", id: "year-view" });
      var year = make("input", { type: "number", value: state.year, min: "2000", max: "2100", "aria-label": W.year });
      year.addEventListener("change", function () { state.year = parseInt(year.value, 10) || state.year; render(); });
      holder.appendChild(make("h4", { text: W.year_view + " " }, [year]));
      var months = make("div", { className: "year-months" });
      for (var month = 0; month < 12; month += 1) {
        var grid = make("div", { className: "year-month" }, [make("div", { className: "year-month-name", text: W["month_" + (month + 1)] || String(month + 1) })]);
        var first = new Date(state.year, month, 1);
        var cells = make("div", { className: "year-days" });
        for (var blank = 0; blank < (first.getDay() + 6) % 7; blank += 1) { cells.appendChild(make("span", { className: "year-day blank" })); }
        for (var d = new Date(first); d.getMonth() === month; d.setDate(d.getDate() + 1)) {
          var iso = isoDate(d);
          var weekday = DAYS[(d.getDay() + 6) % 7];
          var kind = (calendar.holidays || []).indexOf(iso) >= 0 ? "holiday"
            : (calendar.extra_working_days || []).indexOf(iso) >= 0 ? "extra"
              : windowsOn(calendar, weekday).length ? "work" : "off";
          cells.appendChild(make("span", { className: "year-day " + kind, title: iso, "data-date": iso, text: String(d.getDate()) }));
        }
        grid.appendChild(cells);
        months.appendChild(grid);
      }
      holder.appendChild(months);
      holder.appendChild(make("p", { className: "muted year-legend" }, [
        make("span", { className: "year-day work", text: " " }), document.createTextNode(" " + W.legend_work + "  "),
        make("span", { className: "year-day off", text: " " }), document.createTextNode(" " + W.legend_off + "  "),
        make("span", { className: "year-day holiday", text: " " }), document.createTextNode(" " + W.legend_holiday + "  "),
        make("span", { className: "year-day extra", text: " " }), document.createTextNode(" " + W.legend_extra)]));
      return holder;
    }

    // ------------------------------------------------------------------ tester

    function tester() {
      var when = make("input", { type: "datetime-local", id: "tester-start", value: state.start || "", "aria-label": W.tester_start });
      var hours = make("input", { type: "number", id: "tester-hours", min: "0", value: state.hours, "aria-label": W.hours });
      var mins = make("input", { type: "number", id: "tester-minutes", min: "0", max: "59", value: state.minutes, "aria-label": W.minutes });
      var result = make("div", { id: "tester-result", role: "status" });
      function run() {
        state.start = when.value;
        state.hours = hours.value;
        state.minutes = mins.value;
        test(result);
      }
      [when, hours, mins].forEach(function (node) { node.addEventListener("change", run); });
      var go = make("button", { type: "button", id: "tester-run", text: W.tester_run });
      go.addEventListener("click", run);
      var node = make("div", { className: "calendar-tester", id: "calendar-tester" }, [make("h4", { text: W.tester }),
        make("p", {}, [make("label", { text: W.tester_start + " " }, [when]),
          make("label", { text: " + " }, [hours, make("span", { text: W.hours }), mins, make("span", { text: W.minutes })]), go]),
        result]);
      if (state.start) { test(result); }
      return node;
    }

    function test(result) {
      var h = parseInt(state.hours, 10) || 0;
      var m = parseInt(state.minutes, 10) || 0;
      if (!state.start) { return; }
      api.post(tabs.dataset.calendarTestUrl, {
        files: api.files(), calendar: state.name, start: state.start,
        duration: "PT" + h + "H" + m + "M"
      }).then(function (answer) {
        result.textContent = "";
        if (!answer.ok) {
          result.className = "flash-error";
          result.textContent = answer.body.error;
          return;
        }
        result.className = "";
        var due = answer.body.due.slice(0, 16).replace("T", " ");
        result.dataset.due = answer.body.due;
        result.appendChild(make("p", {}, [make("strong", { text: W.tester_due + " " }), make("span", { id: "tester-due", text: due + " (" + answer.body.timezone + ")" })]));
        var list = make("ul", { id: "tester-windows" });
        answer.body.windows.forEach(function (pair) {
          list.appendChild(make("li", { text: pair[0].slice(0, 16).replace("T", " ") + " – " + pair[1].slice(11, 16) }));
        });
        result.appendChild(make("p", { className: "muted", text: W.tester_windows }));
        result.appendChild(list);
      });
    }

    // ------------------------------------------------------------------ the tab

    function render() {
      box.textContent = "";
      var names = Object.keys(state.calendars);
      if (!names.length) { box.appendChild(make("p", { className: "muted", text: W.no_calendars })); return; }
      if (names.indexOf(state.name) < 0) { state.name = names[0]; }
      var calendar = state.calendars[state.name];
      var chooser = make("select", { id: "calendar-name", "aria-label": W.calendar });
      names.forEach(function (name) { chooser.appendChild(new Option(W["calendar_" + name] || name, name, false, name === state.name)); });
      chooser.addEventListener("change", function () { state.name = chooser.value; render(); });
      var zone = make("input", { type: "text", id: "calendar-timezone", value: calendar.timezone, "aria-label": W.timezone, list: "calendar-zones" });
      zone.addEventListener("change", function () { edit("timezone", zone.value.trim()); });
      var zones = make("datalist", { id: "calendar-zones" });
      ["Asia/Shanghai", "Asia/Hong_Kong", "UTC", "Europe/Berlin"].forEach(function (z) { zones.appendChild(new Option(z, z)); });
      box.appendChild(make("p", {}, [make("label", { text: W.calendar + " " }, [chooser]), make("label", { text: " " + W.timezone + " " }, [zone]), zones]));
      box.appendChild(make("div", { className: "calendar-layout" }, [
        make("div", {}, [dayChooser(calendar), windowEditor(calendar), weekView(calendar)]),
        make("div", {}, [dateList(calendar, "holidays", W.holidays, "calendar-holidays"),
          dateList(calendar, "extra_working_days", W.extra_working_days, "calendar-extra-days"), tester()])]));
      box.appendChild(yearView(calendar));
      box.dataset.ready = "true";
      if (!api.editable()) {
        Array.prototype.forEach.call(box.querySelectorAll("input:not(#tester-start):not(#tester-hours):not(#tester-minutes), button:not(#tester-run)"), function (node) { node.disabled = true; });
      }
    }

    root.addEventListener("modeler:settings", function (event) {
      state.calendars = event.detail.calendars || {};
      render();
    });
  }

  ModelerPanel.onModelerLoaded(start);
})();
