// guarded-run-full: everything guarded-run does. Units and plists run `guarded-run` (the Embedded
// Swift launcher, Sources/guarded-run), which decides cached starts itself and hands everything else
// here with one execve: cache misses (the full check, repair), unusual command lines, and every
// admin subcommand. Run directly, it is a complete launcher too.
import GuardedCommands
import GuardedCore
import GuardedSystem

// The fast path first, before anything else runs: on a cache hit it execs and never returns.
launcherFastPath(log: takeHandover())
CurrentProcess.exit(mainEntry())
