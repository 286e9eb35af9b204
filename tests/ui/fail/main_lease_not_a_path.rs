// `lease` names an fn: not a block.
#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

rutina::main! { lease: { make_lease }, routines: [server] }
