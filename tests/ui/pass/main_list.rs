// `rutina::main!(a, b, ...)`: paths in any form, trailing comma. The routines end at
// once with `Ok`, so the program exits 0.
mod jobs {
    #[rutina::routine]
    pub async fn poll(_ctx: rutina::Context) -> Result<(), std::io::Error> {
        Ok(())
    }
}

#[rutina::routine]
async fn first(_ctx: rutina::Context) -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main!(first, jobs::poll, self::first,);
