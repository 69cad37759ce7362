internal import CSystemShims

/// Process arguments without touching Swift's `CommandLine` (whose lazy globals cost page faults on
/// every agent start). Falls back to `CommandLine` where the C library does not hand them to
/// constructors.
public enum ProcessArguments {
    public static var count: Int {
        guarded_saved_argv() != nil ? Int(guarded_saved_argc()) : Int(CommandLine.argc)
    }

    public static var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        guarded_saved_argv() ?? CommandLine.unsafeArgv
    }
}

/// Memory for the launcher's fast path: a bump allocator over one static buffer, so its small buffers
/// share a page or two; the heap when the buffer is full.
public enum FastMemory {
    public static func allocate<T>(_ type: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
        let bytes = MemoryLayout<T>.stride * capacity
        if let raw = guarded_arena_alloc(UInt(bytes)) {
            return raw.bindMemory(to: T.self, capacity: capacity)
        }
        return UnsafeMutablePointer<T>.allocate(capacity: capacity)
    }

    public static func free<T>(_ pointer: UnsafeMutablePointer<T>) {
        if guarded_arena_owns(pointer) == 0 { pointer.deallocate() }
    }
}
