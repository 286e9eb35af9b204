// A parameter taken from the state cannot borrow mutably either.
struct Counter;

#[rutina::routine]
async fn consumer(_counter: &mut Counter) -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
