//! Unit tests of the attribute parser: every key, every spelling, every diagnostic.

use super::*;
use quote::quote;

fn routine(tokens: TokenStream) -> (RoutineArgs, Vec<String>) {
    let mut errors = Errors::default();
    let args = parse_routine_args(tokens, &mut errors);
    (args, errors.messages())
}

fn main_args(tokens: TokenStream) -> (MainArgs, Vec<String>) {
    let mut errors = Errors::default();
    let args = parse_main_args(tokens, &mut errors);
    (args, errors.messages())
}

fn policy_of(value: &Option<Spanned<&'static str>>) -> Option<&'static str> {
    value.as_ref().map(|policy| policy.value)
}

#[test]
fn empty_arguments_declare_nothing() {
    let (args, errors) = routine(quote!());
    assert!(errors.is_empty(), "{errors:?}");
    assert!(args.on_done.is_none() && args.on_error.is_none() && args.timeout.is_none());
    assert!(args.max_count.is_none() && args.name.is_none() && args.backoff.is_none());
    assert!(args.restart_intensity.is_none() && args.grace_period.is_none() && args.readiness_gate.is_none());
    assert!(args.every.is_none() && args.cron.is_none() && args.heartbeat.is_none() && args.reload.is_none());
    assert!(args.singleton.is_none() && args.backoff_reset.is_none());
}

#[test]
fn every_key_parses_to_its_value() {
    let (args, errors) = routine(quote!(
        on_done = Restart,
        on_error = Shutdown,
        timeout = "5s",
        max_count = 3,
        name = "http",
        backoff = "1m 30s",
        restart_intensity = (5, "1m"),
        grace_period = "10s",
        readiness_gate = false,
    ));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(policy_of(&args.on_done), Some("Restart"));
    assert_eq!(policy_of(&args.on_error), Some("Shutdown"));
    assert_eq!(args.timeout.map(|t| t.value), Some(Duration::from_secs(5)));
    assert_eq!(args.max_count.map(|m| m.value), Some(3));
    assert_eq!(args.name.map(|n| n.value), Some("http".to_owned()));
    assert_eq!(args.backoff.map(|b| b.value), Some(BackoffArg::Fixed(Duration::from_secs(90))));
    let intensity = args.restart_intensity.expect("parsed");
    assert_eq!((intensity.max_restarts.value, intensity.within.value), (5, Duration::from_secs(60)));
    assert_eq!(args.grace_period.map(|g| g.value), Some(Duration::from_secs(10)));
    assert_eq!(args.readiness_gate.map(|g| g.value), Some(false));
}

#[test]
fn policies_may_be_written_as_paths() {
    let (args, errors) = routine(quote!(on_done = Policy::DoNothing, on_error = rutina::Policy::Restart));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(policy_of(&args.on_done), Some("DoNothing"));
    assert_eq!(policy_of(&args.on_error), Some("Restart"));
}

#[test]
fn sub_millisecond_durations_keep_their_nanoseconds() {
    let (args, errors) = routine(quote!(timeout = "1s 500us 7ns"));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.timeout.map(|t| t.value), Some(Duration::new(1, 500_007)));
}

#[test]
fn unknown_key_lists_the_keys_and_suggests_the_closest() {
    let (_, errors) = routine(quote!(timout = "5s"));
    assert_eq!(
        errors,
        ["unknown key `timout` in #[rutina::routine]; expected one of `on_done`, \
          `on_error`, `timeout`, `max_count`, `name`, `backoff`, `backoff_reset`, \
          `restart_intensity`, `grace_period`, `readiness_gate`, `every`, `cron`, `heartbeat`, \
          `reload`, `singleton` (did you mean `timeout`?)"]
    );
    let (_, errors) = routine(quote!(restart_intensty = (5, "1m")));
    assert!(errors[0].ends_with("(did you mean `restart_intensity`?)"), "{errors:?}");
    let (_, errors) = routine(quote!(restart = Restart));
    assert!(!errors[0].contains("did you mean"), "{errors:?}");
}

#[test]
fn duplicate_key_is_reported_and_the_first_value_kept() {
    let (args, errors) = routine(quote!(max_count = 1, max_count = 2));
    assert_eq!(errors, ["duplicate key `max_count` in #[rutina::routine]; each key may be given once"]);
    assert_eq!(args.max_count.map(|m| m.value), Some(1));
}

#[test]
fn unknown_policy_lists_the_three() {
    let (_, errors) = routine(quote!(on_done = Restarts));
    assert_eq!(
        errors,
        ["unknown policy `Restarts`; expected one of `DoNothing`, `Restart`, `Shutdown` \
          (did you mean `Restart`?)"]
    );
}

#[test]
fn quoted_policy_says_to_drop_the_quotes() {
    let (_, errors) = routine(quote!(on_error = "Shutdown"));
    assert_eq!(errors, ["write the policy without quotes: `on_error = Shutdown`"]);
}

#[test]
fn policy_that_is_not_a_name_is_rejected() {
    for value in [quote!(1), quote!(Restart + 1), quote!(Other::Restart), quote!(Vec<u8>)] {
        let (args, errors) = routine(quote!(on_done = #value));
        assert!(args.on_done.is_none());
        assert_eq!(errors, ["expected a policy for `on_done`: one of `DoNothing`, `Restart`, `Shutdown`"], "{value}");
    }
}

#[test]
fn bad_duration_quotes_the_parser_reason() {
    let (_, errors) = routine(quote!(timeout = "5 parsecs"));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("invalid duration \"5 parsecs\" for `timeout`: unknown time unit \"parsecs\""),
        "{errors:?}"
    );
    assert!(errors[0].ends_with(DURATION_HINT), "{errors:?}");
}

#[test]
fn duration_must_be_a_string() {
    for value in [quote!(5), quote!(5s), quote!(Duration::from_secs(5))] {
        let (_, errors) = routine(quote!(backoff = #value));
        assert_eq!(
            errors,
            ["`backoff` must be a duration string, a fixed delay like `backoff = \"1s\"`, or a range \
              for an exponential backoff, like `backoff = \"100ms..30s\"`"],
            "{value}"
        );
        let (_, errors) = routine(quote!(timeout = #value));
        assert_eq!(errors, ["`timeout` must be a duration string, like `timeout = \"5s\"`"], "{value}");
    }
}

#[test]
fn max_count_must_be_a_non_negative_integer_that_fits_u32() {
    let cases = [
        (quote!(-1), "cannot be negative"),
        (quote!(-1.5), "cannot be negative"),
        (quote!(1.5), "must be a whole number"),
        (quote!("3"), "must be an integer"),
        (quote!(three), "must be an integer"),
        (quote!(4294967296), "is too large"),
        (quote!(99999999999999999999999999999999999999999), "is too large"),
    ];
    for (value, expected) in cases {
        let (args, errors) = routine(quote!(max_count = #value));
        assert!(args.max_count.is_none(), "{value}");
        assert_eq!(errors.len(), 1, "{value}: {errors:?}");
        assert!(errors[0].contains(expected), "{value}: {errors:?}");
    }
    let (args, errors) = routine(quote!(max_count = 4294967295));
    assert!(errors.is_empty());
    assert_eq!(args.max_count.map(|m| m.value), Some(u32::MAX));
}

#[test]
fn malformed_entries_are_each_reported() {
    let (_, errors) = routine(quote!(timeout, , name "x", max_count =, 7 = 3));
    assert_eq!(
        errors,
        [
            // each entry read up to its comma, in the order written
            "`timeout` needs a value; write `timeout = \"5s\"`",
            "unexpected `,` in #[rutina::routine]: expected a key before it",
            "expected `=` after `name`; write `name = \"http\"`",
            "missing value after `max_count =`; write `max_count = 3`",
            "expected a key in #[rutina::routine], like `on_done = Restart`; the keys are \
             `on_done`, `on_error`, `timeout`, `max_count`, `name`, `backoff`, `backoff_reset`, \
             `restart_intensity`, `grace_period`, `readiness_gate`, `every`, `cron`, `heartbeat`, \
             `reload`, `singleton`",
        ]
    );
}

#[test]
fn all_errors_of_one_attribute_are_reported_together() {
    let (args, errors) =
        routine(quote!(on_done = Restarts, timeout = "soon", max_count = -2, colour = "red", name = "ok"));
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert_eq!(args.name.map(|n| n.value), Some("ok".to_owned()));
}

#[test]
fn main_short_form_keeps_the_order_and_accepts_paths() {
    let (args, errors) = main_args(quote!(a, jobs::poll, ::krate::b,));
    assert!(errors.is_empty(), "{errors:?}");
    let names: Vec<String> = args.routines.iter().map(|path| quote!(#path).to_string()).collect();
    assert_eq!(names, ["a", "jobs :: poll", ":: krate :: b"]);
    assert_eq!(args.written, 3);
    assert!(args.list_span.is_some() && args.shutdown_timeout.is_none());
}

#[test]
fn main_braced_form() {
    let (args, errors) = main_args(quote!(routines: [a, b], shutdown_timeout: "30s",));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.routines.len(), 2);
    assert_eq!(args.shutdown_timeout.map(|t| t.value), Some(Duration::from_secs(30)));
}

#[test]
fn main_errors() {
    let (_, errors) = main_args(quote!(routines: [a], shutdown: "3s", routines: [b]));
    assert_eq!(
        errors,
        [
            "unknown key `shutdown` in rutina::main!; expected one of `routines`, \
             `shutdown_timeout`, `shutdown_order`, `shutdown_delay`, `setup`, `state`, `lease`, \
             `configure`",
            "duplicate key `routines` in rutina::main!; each key may be given once",
        ]
    );
    let (_, errors) = main_args(quote!(a, shutdown_timeout: "3s"));
    assert!(errors[0].contains("braced form"), "{errors:?}");
    let (_, errors) = main_args(quote!(a(), "b", routines = [c]));
    assert_eq!(errors.len(), 3, "{errors:?}");
    let (_, errors) = main_args(quote!(routines: a));
    assert!(errors[0].contains("list in brackets"), "{errors:?}");
    let (_, errors) = main_args(quote!(routines = [a]));
    assert!(errors[0].starts_with("expected `:` after `routines`"), "{errors:?}");
    let (_, errors) = main_args(quote!(routines: [a], shutdown_timeout: 30));
    assert!(errors[0].contains("must be a duration string"), "{errors:?}");
}

#[test]
fn main_state_lease_and_shutdown_delay() {
    let (args, errors) = main_args(quote!(
        routines: [a],
        state: App::connect,
        lease: leases::make,
        shutdown_delay: "5s",
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let path = |path: Option<syn::ExprPath>| path.map(|path| quote!(#path).to_string());
    assert_eq!(path(args.state), Some("App :: connect".to_owned()));
    assert_eq!(path(args.lease), Some("leases :: make".to_owned()));
    assert_eq!(args.shutdown_delay.map(|d| d.value), Some(Duration::from_secs(5)));

    let (_, errors) = main_args(quote!(routines: [a], state: App::connect(), lease: || backend()));
    assert_eq!(
        errors,
        [
            "write the fn without calling it: `state: App::connect`; rutina::main! calls it once, \
             inside the runtime, before it starts the routines",
            "`lease` must be the name of an fn taking no arguments, like `lease: make_lease` (not a \
             call, a closure or a block: put the code in an fn)",
        ]
    );
    let (_, errors) = main_args(quote!(routines: [a], lease: make(), shutdown_delay: 5, state: a, state: b));
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].ends_with("calls it once, inside the runtime, before it makes the group"), "{errors:?}");
    assert_eq!(errors[1], "`shutdown_delay` must be a duration string, like `shutdown_delay: \"5s\"`");
    assert_eq!(errors[2], "duplicate key `state` in rutina::main!; each key may be given once");
}

#[test]
fn main_configure_is_the_path_of_an_fn_taking_the_options() {
    let (args, errors) = main_args(quote!(routines: [a], configure: App::configure));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.configure.map(|path| quote!(#path).to_string()), Some("App :: configure".to_owned()));

    let (_, errors) = main_args(quote!(routines: [a], configure: configure(), configure: |options| options));
    assert_eq!(
        errors,
        [
            "write the fn without calling it: `configure: configure`; rutina::main! calls it once, \
             inside the runtime, with the group's options, before it makes the group",
            "duplicate key `configure` in rutina::main!; each key may be given once",
            "`configure` must be the name of an fn taking the group's `rutina::Options`, like \
             `configure: configure` (not a call, a closure or a block: put the code in an fn)",
        ]
    );
}

#[test]
fn grace_period_is_a_duration_and_may_be_zero() {
    let (args, errors) = routine(quote!(grace_period = "0s"));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.grace_period.map(|g| g.value), Some(Duration::ZERO));
    let (_, errors) = routine(quote!(grace_period = 10));
    assert_eq!(errors, ["`grace_period` must be a duration string, like `grace_period = \"10s\"`"]);
    let (_, errors) = routine(quote!(grace_period = "10 sec0nds"));
    assert!(errors[0].starts_with("invalid duration \"10 sec0nds\" for `grace_period`: "), "{errors:?}");
}

#[test]
fn readiness_gate_alone_means_true() {
    let gate = |tokens| routine(tokens).0.readiness_gate.map(|gate| gate.value);
    assert_eq!(gate(quote!(readiness_gate)), Some(true));
    assert_eq!(gate(quote!(readiness_gate,)), Some(true));
    assert_eq!(gate(quote!(readiness_gate = true)), Some(true));
    assert_eq!(gate(quote!(readiness_gate = false)), Some(false));
    let (args, errors) = routine(quote!(readiness_gate, on_done = Restart));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(args.readiness_gate.is_some_and(|gate| gate.value) && args.on_done.is_some());
    // Only flags may stand alone.
    let (_, errors) = routine(quote!(grace_period));
    assert_eq!(errors, ["`grace_period` needs a value; write `grace_period = \"10s\"`"]);
    let (_, errors) = routine(quote!(readiness_gate =));
    assert_eq!(errors, ["missing value after `readiness_gate =`; write `readiness_gate = true`"]);
}

#[test]
fn readiness_gate_must_be_a_bool() {
    let (_, errors) = routine(quote!(readiness_gate = "true"));
    assert_eq!(errors, ["write `true` without quotes: `readiness_gate = true`"]);
    let must = "`readiness_gate` must be `true` or `false`, like `readiness_gate = true` \
                (or just `readiness_gate`)";
    for value in [quote!(1), quote!(yes), quote!("yes"), quote!(!false), quote!(true false)] {
        let (args, errors) = routine(quote!(readiness_gate = #value));
        assert!(args.readiness_gate.is_none(), "{value}");
        assert_eq!(errors, [must], "{value}");
    }
    let (_, errors) = routine(quote!(readiness_gate = ture));
    assert_eq!(errors, [format!("{must} (did you mean `true`?)")]);
    let (_, errors) = routine(quote!(readiness_gate = False));
    assert_eq!(errors, [format!("{must} (did you mean `false`?)")]);
}

#[test]
fn restart_intensity_is_a_count_and_a_window() {
    let (args, errors) = routine(quote!(restart_intensity = (5, "1m",)));
    assert!(errors.is_empty(), "{errors:?}");
    let intensity = args.restart_intensity.expect("parsed");
    assert_eq!((intensity.max_restarts.value, intensity.within.value), (5, Duration::from_secs(60)));
    let (args, errors) = routine(quote!(restart_intensity = (0, "1s 500ms")));
    assert!(errors.is_empty(), "{errors:?}");
    let intensity = args.restart_intensity.expect("parsed");
    assert_eq!((intensity.max_restarts.value, intensity.within.value), (0, Duration::from_millis(1500)));
    let (args, errors) = routine(quote!(restart_intensity = (4294967295, "1h")));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.restart_intensity.map(|i| i.max_restarts.value), Some(u32::MAX));
}

#[test]
fn restart_intensity_shape_errors() {
    let not_a_pair = "`restart_intensity` must be a pair in parentheses, `(restarts, \"window\")`: \
                      write `restart_intensity = (5, \"1m\")` for at most 5 restarts within any minute";
    let two_values = "`restart_intensity` needs two values, a restart count and a window: \
                      write `restart_intensity = (5, \"1m\")`";
    let cases = [
        (quote!(5), not_a_pair),
        (quote!("5 per 1m"), not_a_pair),
        (quote!([5, "1m"]), not_a_pair),
        (quote!({ 5, "1m" }), not_a_pair),
        (quote!((5, "1m")(5, "1m")), not_a_pair),
        (quote!(()), two_values),
        (quote!((5)), two_values),
        (quote!(("1m")), two_values),
        (
            quote!((5, "1m", 3, "2m")),
            "`restart_intensity` takes two values, a restart count and a window, like \
             `restart_intensity = (5, \"1m\")`; remove this",
        ),
        (quote!((5,, "1m")), "unexpected `,` in #[rutina::routine]: expected a value before it"),
    ];
    for (value, expected) in cases {
        let (args, errors) = routine(quote!(restart_intensity = #value));
        assert!(args.restart_intensity.is_none() || expected.starts_with("unexpected"), "{value}");
        assert_eq!(errors, [expected], "{value}");
    }
}

#[test]
fn restart_intensity_part_errors_name_the_part() {
    let cases = [
        (
            quote!((-1, "1m")),
            "the restart count of `restart_intensity` cannot be negative: it is how many restarts the window allows",
        ),
        (quote!((-1, "1m")), "the restart count of `restart_intensity` cannot be negative"),
        (
            quote!((1.5, "1m")),
            "the restart count of `restart_intensity` must be a whole number, like `restart_intensity = (5, \"1m\")`",
        ),
        (quote!(("5", "1m")), "the restart count of `restart_intensity` must be an integer"),
        (quote!((five, "1m")), "the restart count of `restart_intensity` must be an integer"),
        (
            quote!((4294967296, "1m")),
            "the restart count of `restart_intensity` is too large: it must fit in a `u32` (at most 4294967295)",
        ),
        (
            quote!((5, 60)),
            "the window of `restart_intensity` must be a duration string, like `restart_intensity = (5, \"1m\")`",
        ),
        (quote!((5, 1m)), "the window of `restart_intensity` must be a duration string"),
        (
            quote!((5, "1 fortnight")),
            "invalid duration \"1 fortnight\" for the window of `restart_intensity`: unknown time unit \"fortnight\"",
        ),
    ];
    for (value, expected) in cases {
        let (args, errors) = routine(quote!(restart_intensity = #value));
        assert!(args.restart_intensity.is_none(), "{value}");
        assert_eq!(errors.len(), 1, "{value}: {errors:?}");
        assert!(errors[0].starts_with(expected), "{value}: {errors:?}");
    }
    // Both parts wrong, and a value too many: all three reported.
    let (_, errors) = routine(quote!(restart_intensity = (-5, "soon", 3)));
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("remove this"), "{errors:?}");
    assert!(errors[1].contains("restart count") && errors[2].contains("window"), "{errors:?}");
}

#[test]
fn main_shutdown_order_in_every_spelling() {
    for value in [
        quote!(ReverseStart),
        quote!(ShutdownOrder::ReverseStart),
        quote!(rutina::ShutdownOrder::ReverseStart),
        quote!(::rutina::ShutdownOrder::ReverseStart),
    ] {
        let (args, errors) = main_args(quote!(routines: [a], shutdown_order: #value));
        assert!(errors.is_empty(), "{value}: {errors:?}");
        assert_eq!(args.shutdown_order.map(|o| o.value), Some("ReverseStart"), "{value}");
    }
    let (args, _) = main_args(quote!(routines: [a], shutdown_order: AllAtOnce));
    assert_eq!(args.shutdown_order.map(|o| o.value), Some("AllAtOnce"));
}

#[test]
fn main_shutdown_order_errors() {
    let order = |value: TokenStream| main_args(quote!(routines: [a], shutdown_order: #value)).1;
    assert_eq!(
        order(quote!(Reverse)),
        ["unknown shutdown order `Reverse`; expected one of `AllAtOnce`, `ReverseStart`"]
    );
    assert_eq!(
        order(quote!(ShutdownOrder::ReverseStrat)),
        ["unknown shutdown order `ReverseStrat`; expected one of `AllAtOnce`, `ReverseStart` \
          (did you mean `ReverseStart`?)"]
    );
    assert_eq!(
        order(quote!("ReverseStart")),
        ["write the shutdown order without quotes: `shutdown_order: ReverseStart`"]
    );
    assert_eq!(
        order(quote!("reverse")),
        ["expected a shutdown order for `shutdown_order`: one of `AllAtOnce`, `ReverseStart`, written without quotes"]
    );
    for value in [quote!(1), quote!(Policy::ReverseStart), quote!(ReverseStart()), quote!(Vec<u8>)] {
        assert_eq!(
            order(value.clone()),
            ["expected a shutdown order for `shutdown_order`: one of `AllAtOnce`, `ReverseStart`"],
            "{value}"
        );
    }
    // A policy is not a shutdown order, nor the other way round.
    let (_, errors) = routine(quote!(on_done = ShutdownOrder::Restart));
    assert_eq!(errors, ["expected a policy for `on_done`: one of `DoNothing`, `Restart`, `Shutdown`"]);
}

#[test]
fn main_setup_is_a_path() {
    for value in [quote!(init), quote!(config::load), quote!(::krate::init), quote!(Config::init)] {
        let (args, errors) = main_args(quote!(routines: [a], setup: #value,));
        assert!(errors.is_empty(), "{value}: {errors:?}");
        let setup = args.setup.expect("parsed");
        assert_eq!(quote!(#setup).to_string(), value.to_string());
    }
    // Expression paths: generic arguments take a turbofish, and a qualified path works.
    for value in [quote!(init::<Config>), quote!(<Config as Init>::init)] {
        let (args, errors) = main_args(quote!(routines: [a], setup: #value));
        assert!(errors.is_empty() && args.setup.is_some(), "{value}: {errors:?}");
    }
    // The key may come first, like any other.
    let (args, errors) = main_args(quote!(setup: init, routines: [a, b]));
    assert!(errors.is_empty(), "{errors:?}");
    assert!(args.setup.is_some() && args.routines.len() == 2);
    let (args, errors) = main_args(quote!(routines: [a]));
    assert!(errors.is_empty() && args.setup.is_none(), "{errors:?}");
}

#[test]
fn main_setup_errors() {
    let setup = |value: TokenStream| main_args(quote!(routines: [a], setup: #value)).1;
    let not_a_path = "`setup` must be the name of an fn taking no arguments, like \
                      `setup: init_logging` (not a call, a closure or a block: put the code in an fn)";
    for value in [
        quote!("init"),
        quote!(|| init()),
        quote!({ init() }),
        quote!(init(1)),
        quote!(init<Config>),
        quote!(init init),
        quote!(
            #[cfg(unix)]
            init
        ),
        quote!(init.call()),
    ] {
        assert_eq!(setup(value.clone()), [not_a_path], "{value}");
    }
    assert_eq!(
        setup(quote!(init_logging())),
        ["write the fn without calling it: `setup: init_logging`; rutina::main! calls it once, \
          before it starts the runtime"]
    );
    assert!(setup(quote!(::logs::init())).iter().any(|error| error.contains("`setup: ::logs::init`")));
    assert_eq!(
        main_args(quote!(routines: [a], setup =  init)).1,
        ["expected `:` after `setup`; write `setup: init_logging`"]
    );
    assert_eq!(main_args(quote!(routines: [a], setup)).1, ["`setup` needs a value; write `setup: init_logging`"]);
    let (args, errors) = main_args(quote!(setup: first, routines: [a], setup: second));
    assert_eq!(errors, ["duplicate key `setup` in rutina::main!; each key may be given once"]);
    let first = args.setup.expect("the first one is kept");
    assert_eq!(quote!(#first).to_string(), "first");
    let (_, errors) = main_args(quote!(routines: [a], set_up: init));
    assert!(errors[0].ends_with("(did you mean `setup`?)"), "{errors:?}");
    let (_, errors) = main_args(quote!(a, setup: init));
    assert!(errors[0].contains("braced form"), "{errors:?}");
}

#[test]
fn only_near_misses_get_a_suggestion() {
    let keys = || ROUTINE_KEYS.iter().map(|key| key.name);
    assert_eq!(did_you_mean("max_cout", keys()), " (did you mean `max_count`?)");
    assert_eq!(did_you_mean("ON_DONE", keys()), " (did you mean `on_done`?)");
    assert_eq!(did_you_mean("tiemout", keys()), " (did you mean `timeout`?)");
    assert_eq!(did_you_mean("retries", keys()), "");
}

#[test]
fn a_value_that_is_not_one_expression_gets_the_keys_own_message() {
    let (_, errors) = routine(quote!(on_done = Restart Restart, timeout = "5s" "6s", name = "a",));
    assert_eq!(
        errors,
        [
            "expected a policy for `on_done`: one of `DoNothing`, `Restart`, `Shutdown`",
            "`timeout` must be a duration string, like `timeout = \"5s\"`",
        ]
    );
    let (args, errors) = main_args(quote!(routines: [a, , b::c], setup: init init));
    assert_eq!(
        errors,
        [
            "unexpected `,` in rutina::main!: expected a routine before it",
            "`setup` must be the name of an fn taking no arguments, like `setup: init_logging` \
             (not a call, a closure or a block: put the code in an fn)",
        ]
    );
    assert_eq!((args.routines.len(), args.written), (2, 2));
}

#[test]
fn keys_may_be_raw_and_keywords_are_unknown_keys() {
    let (args, errors) = routine(quote!(r#name = "x", async = 3));
    assert_eq!(args.name.map(|n| n.value), Some("x".to_owned()));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("unknown key `async` in #[rutina::routine]"), "{errors:?}");
}

#[test]
fn schedules_heartbeat_reload_and_singleton_parse() {
    let (args, errors) = routine(quote!(every = "2s", heartbeat = "30s", reload, singleton = "billing-cleanup",));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.every.map(|e| e.value), Some(Duration::from_secs(2)));
    assert_eq!(args.heartbeat.map(|h| h.value), Some(Duration::from_secs(30)));
    assert_eq!(args.reload.map(|r| r.value), Some(true));
    assert_eq!(args.singleton.map(|s| s.value), Some("billing-cleanup".to_owned()));
    let (args, errors) = routine(quote!(cron = "0 */5 * * * *", reload = false));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.cron.map(|c| c.value), Some("0 */5 * * * *".to_owned()));
    assert_eq!(args.reload.map(|r| r.value), Some(false));

    let (_, errors) = routine(quote!(every = 2, cron = 5, reload = "yes", singleton = billing));
    assert_eq!(
        errors,
        [
            "`every` must be a duration string, like `every = \"2s\"`",
            "`cron` must be a string, like `cron = \"0 */5 * * * *\"`",
            "`reload` must be `true` or `false`, like `reload = true` (or just `reload`)",
            "`singleton` must be a string, like `singleton = \"billing-cleanup\"`",
        ],
    );
    assert_eq!(routine(quote!(heartbeat = "1 beat")).1.len(), 1);
    assert_eq!(routine(quote!(reload = "true")).1, ["write `true` without quotes: `reload = true`"]);
}

#[test]
fn backoff_is_a_delay_or_a_range() {
    let backoff = |tokens| {
        let (args, errors) = routine(tokens);
        assert!(errors.is_empty(), "{errors:?}");
        args.backoff.map(|backoff| backoff.value)
    };
    let ms = Duration::from_millis;
    assert_eq!(backoff(quote!(backoff = "1s")), Some(BackoffArg::Fixed(ms(1000))));
    assert_eq!(backoff(quote!(backoff = "0s")), Some(BackoffArg::Fixed(Duration::ZERO)));
    let range = BackoffArg::Exponential { initial: ms(100), max: ms(30_000) };
    assert_eq!(backoff(quote!(backoff = "100ms..30s")), Some(range));
    assert_eq!(backoff(quote!(backoff = " 100ms .. 30s ")), Some(range));
    let long = BackoffArg::Exponential { initial: ms(1500), max: ms(90_000) };
    assert_eq!(backoff(quote!(backoff = "1s 500ms..1m 30s")), Some(long));
    // Checked in `valid.rs`, not here: zero and inverted ranges parse.
    assert_eq!(backoff(quote!(backoff = "0s..1s")), Some(BackoffArg::Exponential { initial: ms(0), max: ms(1000) }));
    assert_eq!(
        backoff(quote!(backoff = "1m..1s")),
        Some(BackoffArg::Exponential { initial: ms(60_000), max: ms(1000) })
    );

    let (_, errors) = routine(quote!(backoff = "100ms..30 parsecs"));
    assert!(
        errors[0].starts_with(
            "invalid duration \"30 parsecs\" in the range of `backoff`, \"100ms..30 parsecs\": unknown time unit"
        ),
        "{errors:?}"
    );
    assert!(
        errors[0].ends_with("write the range like `backoff = \"100ms..30s\"`, from the first delay to the largest")
    );
    for empty in ["..", "100ms..", "..30s", " .. "] {
        let (_, errors) = routine(quote!(backoff = #empty));
        assert_eq!(
            errors,
            [format!(
                "the range of `backoff`, {empty:?}, needs both ends: the first delay and the largest, like \
                 `backoff = \"100ms..30s\"`"
            )],
        );
    }
    let (_, errors) = routine(quote!(backoff = "100ms..=30s"));
    assert_eq!(
        errors,
        ["write the range of `backoff` without `=`, like `backoff = \"100ms..30s\"`: the largest delay is always \
          included"]
    );
    let (args, errors) = routine(quote!(backoff_reset = "1m"));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(args.backoff_reset.map(|r| r.value), Some(Duration::from_secs(60)));
}

#[test]
fn cron_written_first_is_recorded() {
    assert!(routine(quote!(cron = "* * * * *", every = "1s")).0.cron_first);
    assert!(!routine(quote!(every = "1s", cron = "* * * * *")).0.cron_first);
}
