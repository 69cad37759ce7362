// The launcher's own C runtime on Linux (runtime.c): nothing to call from Swift. It defines the C
// library functions the Embedded launcher uses, so the launcher links no C library at all.
#pragma once
