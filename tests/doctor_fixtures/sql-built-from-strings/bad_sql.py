from sqlalchemy import text
import sqlalchemy as sa


def find(conn, name: str, table: str):
    conn.execute(text(f"select * from users where name = '{name}'"))  # expect: sql-built-from-strings
    conn.execute(sa.text("select * from users where id = " + str(name)))  # expect: sql-built-from-strings
    conn.execute(text("select * from %s" % table))  # expect: sql-built-from-strings
    conn.execute(text("delete from users where name = '{}'".format(name)))  # expect: sql-built-from-strings
    query = f"update users set name = '{name}'"
    conn.execute(text(query))  # expect: sql-built-from-strings
    conn.exec_driver_sql(f"drop table {table}")  # expect: sql-built-from-strings
