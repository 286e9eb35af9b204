// `#[from_ref(skip)]` leaves a field out: two fields of one type, one of them taken.
use rutina::FromRef;

#[derive(Clone, Debug, PartialEq)]
struct Db(&'static str);

#[derive(Clone, FromRef)]
struct App {
    primary: Db,
    #[from_ref(skip)]
    replica: Db,
    #[from_ref(skip)]
    _unused: std::cell::Cell<u8>,
    retries: u32,
}

fn main() {
    let app = App { primary: Db("primary"), replica: Db("replica"), _unused: Default::default(), retries: 3 };
    assert_eq!(Db::from_ref(&app), Db("primary"));
    assert_eq!(u32::from_ref(&app), 3);
    assert_eq!(app.replica, Db("replica"));
}
