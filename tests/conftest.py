pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.store",
    "tests.fixtures.mail",
    "tests.fixtures.web",
    "tests.fixtures.platforms",
    "tests.fixtures.crm",
]
