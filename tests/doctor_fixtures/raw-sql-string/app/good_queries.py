from sqlalchemy import Connection, select, text, table


def fine(conn: Connection, executor: object) -> None:
    conn.execute(text("SELECT 1"))
    conn.exec_driver_sql("SELECT 1")
    conn.execute(select(table("users")))
    conn.execute(text("select * from users where id = :id"), {"id": 1})
    executor.execute("deploy --now")
    cursor = conn.connection.cursor()
    cursor.execute("SELECT 1")
    cur = cursor
    cur.execute("SELECT 2")
    conn.connection.driver_connection.execute("SELECT 3")
