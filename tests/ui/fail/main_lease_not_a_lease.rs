// A `lease` fn that returns something that is not a lease backend.
#[rutina::routine]
async fn server() -> Result<(), std::io::Error> {
    Ok(())
}

async fn database_url() -> Result<String, std::io::Error> {
    Ok("postgres://localhost/app".to_owned())
}

rutina::main! { lease: database_url, routines: [server] }
