internal import CSystemShims

/// Makes everything written so far to the filesystem holding `descriptor` durable: one `syncfs(2)`
/// on Linux instead of an fsync per file (a thousand small fsyncs each wait for a journal commit).
/// Darwin has no syncfs: there this is `fsync` of the descriptor only, and callers that need more
/// fsync each file (cheap there: Darwin's fsync does not flush the drive cache).
public func syncFileSystem(containing descriptor: Int32, path: String? = nil) throws(SystemError) {
    if retryingOnInterrupt({ guarded_syncfs(descriptor) }) != 0 { throw SystemError("syncfs", path: path) }
}
