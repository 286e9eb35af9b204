// A parameter taken from the state is a plain name.
#[derive(Clone)]
struct Db(u32);

#[rutina::routine]
async fn consumer(_ctx: rutina::Context, Db(_id): Db) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
