// Preloaded into the program's process (cmd/run) by the rehearsal: if the rehearsal that started
// it dies without stopping it (kill -9), the program ends too instead of running on as an orphan.
// The Pulumi language host has the same parent; this only adds what a killed CLI cannot do.
"use strict";
/* global setInterval */
const parent = process.ppid;
setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, "SIGKILL");
}, 500).unref();
