// guarded-run: a launcher for Python agents that refuses to start them on a broken venv.
// Launcher mode (argv has `--` before COMMAND) is a straight line to execve; see GuardedCore/Launcher.swift.
import GuardedCommands
import GuardedCore
import GuardedSystem

// The fast path first, before anything else runs: on a cache hit it execs and never returns.
launcherFastPath()
exit(mainEntry())
