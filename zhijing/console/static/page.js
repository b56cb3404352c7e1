/* Starts the page's script named by data-page (pages carry no inline script: CSP script-src 'self'). */
"use strict";
zj.pages[document.currentScript.dataset.page]();
