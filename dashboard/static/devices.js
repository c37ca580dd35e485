// greetcue devices page: the Copy button beside a link that is shown only once.
(() => {
  "use strict";
  const button = document.getElementById("copy");
  if (!button) return;
  button.addEventListener("click", () => {
    const input = document.getElementById(button.dataset.target);
    input.select();
    const done = () => { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(input.value).then(done);
    else { document.execCommand("copy"); done(); }
  });
})();
