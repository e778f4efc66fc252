// The course's explorers on the static website (tools/explorers.py writes their data).
// Every picture was drawn when the site was built, one per combination of settings; the controls
// below pick one. Nothing is computed here and nothing is fetched but the site's own PNGs.
(function () {
  "use strict";

  function build(box, data) {
    const values = Object.assign({}, data.defaults);
    const controls = document.createElement("div");
    controls.className = "course-explorer-controls";
    const picture = document.createElement("img");
    picture.className = "course-explorer-picture";
    picture.style.maxWidth = "100%";
    const caption = document.createElement("p");
    caption.className = "course-explorer-caption";
    const source = document.createElement("p");
    source.className = "course-explorer-source";
    source.textContent = "Pictures: " + data.source + ".";

    function show() {
      // Keyed by each control's position in its grid (tools/explorers.py writes the same).
      const key = data.controls.map((c) => c.values.indexOf(values[c.name])).join("|");
      const state = data.states[key];
      picture.src = "_static/explorers/" + state[0];
      picture.alt = state[1];
      caption.textContent = state[1];
      box.setAttribute("data-state", key);
    }

    data.controls.forEach((control) => {
      const label = document.createElement("label");
      label.style.marginRight = "1.5em";
      label.style.display = "inline-block";
      const name = document.createElement("span");
      name.textContent = control.label + " ";
      label.appendChild(name);
      const numeric = control.values.every((v) => typeof v === "number");
      let input;
      if (numeric) {
        // A range over the grid's positions; the value it stands for is printed beside it.
        input = document.createElement("input");
        input.type = "range";
        input.min = 0;
        input.max = control.values.length - 1;
        input.step = 1;
        input.value = Math.max(0, control.values.indexOf(values[control.name]));
        const shown = document.createElement("output");
        shown.textContent = String(values[control.name]);
        input.addEventListener("input", () => {
          values[control.name] = control.values[Number(input.value)];
          shown.textContent = String(values[control.name]);
          show();
        });
        label.appendChild(input);
        label.appendChild(shown);
      } else {
        input = document.createElement("select");
        control.values.forEach((v) => {
          const option = document.createElement("option");
          option.value = v;
          option.textContent = v;
          input.appendChild(option);
        });
        input.value = values[control.name];
        input.addEventListener("change", () => {
          values[control.name] = input.value;
          show();
        });
        label.appendChild(input);
      }
      input.name = control.name;
      controls.appendChild(label);
    });
    box.appendChild(controls);
    box.appendChild(picture);
    box.appendChild(caption);
    box.appendChild(source);
    show();
  }

  function start() {
    document.querySelectorAll(".course-explorer:not([data-ready])").forEach((box) => {
      const data = (window.courseExplorers || {})[box.getAttribute("data-explorer")];
      if (!data) {
        console.error("no data for explorer " + box.getAttribute("data-explorer"));
        return;
      }
      box.setAttribute("data-ready", "");
      build(box, data);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
