import GuardedCore
import GuardedSnapshot
import GuardedSystem

/// `guarded-run snapshot create|list|show|verify|diff|restore|prune`: snapshots of unit files,
/// plists and configs (docs/snapshots.md). The work is in GuardedSnapshot.
public enum SnapshotCommand: AdminCommand {
    public static let name = "snapshot"
    public static let summary = "snapshots of unit files, plists and configs: create, list, verify, diff, restore"

    static let label = OptionSpec.value("--label", as: "TEXT", help: "create: a free-text label")
    static let tag = OptionSpec.value("--tag", as: "TAG", help: "create: a short tag (letters, digits, . _ -)")
    static let set = OptionSpec.value("--set", as: "NAME", help: "create: a named set from snapshot-sets.conf")
    static let wait = OptionSpec.value("--wait", as: "S", help: "create/restore/prune: seconds to wait for the store lock (default 10)")
    static let force = OptionSpec.flag("--force", help: "restore/prune: do it (otherwise a dry run)")
    static let deleteNew = OptionSpec.flag("--delete-new", help: "restore/diff: delete files created since the snapshot, inside its roots")
    static let reload = OptionSpec.flag("--reload", help: "restore: run the systemctl/launchctl reload commands")
    static let keep = OptionSpec.value("--keep", as: "N", help: "prune: how many of the newest snapshots to keep")
    static let includePreRestore = OptionSpec.flag("--include-pre-restore", help: "prune: pre-restore snapshots are not protected")
    static let patch = OptionSpec.flag("--patch", help: "diff: a unified diff of the text files, now (a/) -> snapshot (b/)")
    static let includeTagged = OptionSpec.flag("--include-tagged", help: "prune: tagged snapshots are not protected")

    /// Each action's options and how many positionals it takes after its name.
    static let actions: [(name: String, spec: CommandSpec)] = [
        ("create", CommandSpec("snapshot create", options: [label, tag, set, wait, jsonOption, stateDirOption],
                               alternatives: [.atMostOne(["--set"], ["PATH..."])], positionals: 0...10_000)),
        ("list", CommandSpec("snapshot list", options: [jsonOption, stateDirOption])),
        ("show", CommandSpec("snapshot show ID", options: [jsonOption, stateDirOption], positionals: 1...1)),
        ("verify", CommandSpec("snapshot verify ID", options: [jsonOption, stateDirOption], positionals: 1...1)),
        ("diff", CommandSpec("snapshot diff ID", options: [deleteNew, patch, jsonOption, stateDirOption],
                             alternatives: [.atMostOne(["--patch"], ["--json"])], positionals: 1...1)),
        ("restore", CommandSpec("snapshot restore ID", options: [force, deleteNew, reload, wait, jsonOption, stateDirOption], positionals: 1...1)),
        ("prune", CommandSpec("snapshot prune", options: [keep, force, includePreRestore, includeTagged, wait, jsonOption, stateDirOption],
                              alternatives: [.oneOf(["--keep"])])),
    ]

    public static let spec = CommandSpec(forms: actions.map(\.spec), positionals: 0...10_001)

    public static func run(_ arguments: ParsedArguments) throws -> Int32 {
        guard let action = arguments.positionals.first else { throw UsageError("missing action (create, list, show, verify, diff, restore, prune)") }
        guard let shape = try spec.form(action, of: name, given: arguments) else {
            throw UsageError("unknown action '\(action)'" + didYouMean(action, among: actions.map(\.name)))
        }
        let rest = Array(arguments.positionals.dropFirst())
        if !shape.positionals.contains(rest.count) {
            throw UsageError(rest.count < shape.positionals.lowerBound ? "snapshot \(action): missing ID" : "unexpected argument '\(rest[shape.positionals.upperBound])'")
        }
        let store = SnapshotStore(state: try stateDirectory(arguments))
        let json = arguments.has("--json")
        do {
            switch action {
            case "create": return try create(store, arguments, rest, json: json)
            case "list":
                let items = store.list()
                Output.standardOutput(json ? snapshotListJSON(items).serialized(pretty: true) + "\n" : snapshotListText(items))
                return items.contains { $0.manifest == nil } ? ExitCode.degraded : ExitCode.success
            case "show":
                let manifest = try store.load(try store.resolve(rest[0]))
                Output.standardOutput(json ? manifest.detailJSON().serialized(pretty: true) + "\n" : manifest.detailText())
                return ExitCode.success
            case "verify": return try verify(store, rest[0], json: json)
            case "diff":
                let manifest = try store.load(try store.resolve(rest[0]))
                let plan = store.plan(manifest, deleteNew: arguments.has("--delete-new"))
                if arguments.has("--patch") {
                    if json { throw UsageError("give --patch or --json, not both") }
                    Output.standardOutput(bytes: try store.patch(manifest, plan: plan))
                    return ExitCode.success
                }
                Output.standardOutput(json ? plan.json().serialized(pretty: true) + "\n" : plan.text())
                return ExitCode.success
            case "restore": return try restore(store, arguments, rest[0], json: json)
            default: return try prune(store, arguments, json: json)
            }
        } catch let error as SnapshotError {
            throw CommandFailure("\(action): \(error)", exitCode: error.exitCode)
        }
    }

    static func waitSeconds(_ arguments: ParsedArguments) throws -> Double {
        guard let text = arguments.value("--wait") else { return SnapshotStore.defaultWaitSeconds }
        guard let seconds = Double(text), seconds >= 0, seconds <= 86_400 else { throw UsageError("--wait takes seconds from 0 to 86400, not '\(text)'") }
        return seconds
    }

    static func create(_ store: SnapshotStore, _ arguments: ParsedArguments, _ paths: [String], json: Bool) throws -> Int32 {
        var label = arguments.value("--label"), tag = arguments.value("--tag")
        var specs = paths
        var setName = arguments.value("--set")
        // The earlier prototype's habit: `create "Before Phase 4" pre-phase-4` is a label and a tag
        // for the default set. Only when every word is plainly not a path.
        let looksLikeLabels = !paths.isEmpty && paths.count <= 2 && label == nil && tag == nil && setName == nil
            && paths.allSatisfy { !$0.contains("/") && !$0.hasPrefix("~") && !$0.hasPrefix(".") && fileStatusIfPresent($0) == nil }
        if looksLikeLabels {
            label = paths[0]
            tag = paths.count > 1 ? paths[1] : nil
            specs = []
            setName = "default"
        }
        let roots: [SnapshotRoot]
        var requireExisting = true
        if let setName {
            if !specs.isEmpty { throw UsageError("give --set NAME or paths, not both") }
            let sets = try SnapshotSets.load(state: store.state)
            guard let lines = sets.lines(of: setName) else {
                throw SnapshotError.usage("no set '\(setName)' in \(SnapshotSets.configPath(state: store.state))")
            }
            roots = try snapshotRoots(for: lines, allowGlobs: true)
            requireExisting = false
        } else if specs.isEmpty {
            let sets = try SnapshotSets.load(state: store.state)
            guard let lines = sets.lines(of: "default") else {
                throw UsageError("nothing to snapshot: give PATH... or --set NAME (or define [set default] in \(SnapshotSets.configPath(state: store.state)))")
            }
            roots = try snapshotRoots(for: lines, allowGlobs: true)
            requireExisting = false
        } else {
            roots = try snapshotRoots(for: specs, allowGlobs: false)
        }
        let lock = try store.lock(waitSeconds: try waitSeconds(arguments))
        if let stale = lock.staleMessage { reportError("snapshot: \(stale)") }
        let manifest = try store.create(roots: roots, label: label, tag: tag, requireExisting: requireExisting, holding: lock)
        Output.standardOutput(json ? manifest.summaryJSON().serialized(pretty: true) + "\n" : manifest.id + "\n")
        return ExitCode.success
    }

    static func verify(_ store: SnapshotStore, _ text: String, json: Bool) throws -> Int32 {
        let manifest = try store.load(try store.resolve(text))
        let problems = store.verify(manifest)
        let blobCount = Set(manifest.entries.compactMap(\.sha256)).count
        if json {
            Output.standardOutput(JSONValue.object([
                ("id", JSONValue(manifest.id)), ("ok", JSONValue(problems.isEmpty)), ("blobs", JSONValue(blobCount)),
                ("manifest_sha256", JSONValue(manifest.sha256)), ("problems", JSONValue(problems)),
            ]).serialized(pretty: true) + "\n")
        } else {
            for p in problems { Output.standardOutput("damaged  \(p)\n") }
            Output.standardOutput("snapshot \(manifest.id): manifest and \(blobCount) blobs " + (problems.isEmpty ? "intact\n" : "checked, \(problems.count) damaged\n"))
        }
        return problems.isEmpty ? ExitCode.success : ExitCode.broken
    }

    static func restore(_ store: SnapshotStore, _ arguments: ParsedArguments, _ text: String, json: Bool) throws -> Int32 {
        let id = try store.resolve(text)
        var options = RestoreOptions()
        options.deleteNew = arguments.has("--delete-new")
        options.reload = arguments.has("--reload")
        options.waitSeconds = try waitSeconds(arguments)
        if let n = Environment.value("GUARDED_RUN_TEST_PAUSE_AFTER_FILES").flatMap({ Int($0) }), n > 0 { options.testPauseAfterFiles = n }
        options.testPauseMarker = Environment.value("GUARDED_RUN_TEST_PAUSE_MARKER")
        guard arguments.has("--force") else {
            let manifest = try store.load(id)
            let problems = store.verify(manifest)
            if !problems.isEmpty { throw SnapshotError.damaged("snapshot \(id) is damaged: \(problems[0])") }
            let plan = store.plan(manifest, deleteNew: options.deleteNew)
            let hints = plan.reloadCommands()
            if json {
                Output.standardOutput(JSONValue.object([("dry_run", JSONValue(true)), ("plan", plan.json()),
                                                        ("reload", .array(hints.map { JSONValue($0) }))]).serialized(pretty: true) + "\n")
            } else {
                Output.standardOutput(plan.text() + "dry run: nothing written; --force restores (after an automatic snapshot of the current state)\n")
            }
            return plan.blocked.isEmpty ? ExitCode.success : ExitCode.degraded
        }
        let report = try store.restore(id, options: options)
        for note in report.notes { reportError("snapshot: \(note)") }
        if json {
            Output.standardOutput(JSONValue.object([
                ("dry_run", JSONValue(false)), ("plan", report.plan.json()), ("pre_restore", .optional(report.preRestore?.id)),
                ("reload", .array(report.reloadCommands.map { JSONValue($0) })), ("reload_ran", JSONValue(options.reload)),
                ("reload_failures", JSONValue(report.reloadFailures)),
            ]).serialized(pretty: true) + "\n")
        } else if let before = report.preRestore {
            var out = report.plan.text() + "pre-restore snapshot: \(before.id)\nrestored snapshot \(id)\n"
            for command in report.reloadCommands {
                out += (options.reload ? "ran:    " : "reload: ") + command.joined(separator: " ") + "\n"
            }
            Output.standardOutput(out)
        } else {
            Output.standardOutput("snapshot \(id): nothing to restore (\(report.plan.unchanged.count) unchanged)\n")
        }
        for failure in report.reloadFailures { reportError("snapshot: restore: reload failed: \(failure)") }
        return report.reloadFailures.isEmpty ? ExitCode.success : ExitCode.degraded
    }

    static func prune(_ store: SnapshotStore, _ arguments: ParsedArguments, json: Bool) throws -> Int32 {
        guard arguments.value("--keep") != nil else { throw UsageError("prune needs --keep N") }
        let keep = try arguments.integer("--keep", default: 1, range: 1...1_000_000)
        let force = arguments.has("--force")
        let lock = try store.lock(waitSeconds: try waitSeconds(arguments))
        let plan = store.prunePlan(keep: keep, includePreRestore: arguments.has("--include-pre-restore"),
                                   includeTagged: arguments.has("--include-tagged"))
        var removedPacks = 0, note: String? = nil
        if force { (removedPacks, note) = try store.prune(plan.remove, holding: lock) }
        if json {
            Output.standardOutput(JSONValue.object([
                ("dry_run", JSONValue(!force)), ("remove", JSONValue(plan.remove)), ("protected", JSONValue(plan.protectedIDs)),
                ("protected_reasons", .object(plan.protected.map { ($0.id, JSONValue($0.why.reason)) })),
                ("removed_packs", JSONValue(removedPacks)),
            ]).serialized(pretty: true) + "\n")
        } else {
            var out = ""
            for id in plan.remove { out += (force ? "removed    " : "remove     ") + id + "\n" }
            for (id, why) in plan.protected { out += "protected  \(id) (\(why.reason))\n" }
            out += force ? "removed \(plan.remove.count) snapshots and \(removedPacks) unreferenced packs\n"
                         : "dry run: nothing removed; --force removes \(plan.remove.count) snapshots\n"
            Output.standardOutput(out)
        }
        if let note { reportError("snapshot: prune: \(note)") }
        return ExitCode.success
    }
}
