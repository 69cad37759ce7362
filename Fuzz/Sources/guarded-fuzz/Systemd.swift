import GuardedSupervisor

/// systemd unit files and drop-ins: sections, continuations, comments, and the ExecStart= word
/// syntax (quotes, escapes, prefixes) on every value.
@_cdecl("fuzz_systemd") public func fuzzSystemd(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = text(data, size)
    if let unit = try? UnitFile(path: "/etc/systemd/system/fuzz.service", text: input) {
        let commands = ServiceCommands([unit])
        for a in commands.execStart { _ = try? SystemdSyntax.split(a.value) }
    }
    if let words = try? SystemdSyntax.words(input) {
        _ = SystemdSyntax.join(words)
        if let first = words.first { _ = SystemdSyntax.execPrefix(of: first) }
    }
    _ = try? SystemdSyntax.split(input)
    return 0
}
