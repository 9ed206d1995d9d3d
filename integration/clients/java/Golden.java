// Runs the golden cases through MariaDB Connector/J and prints the answers as JSON.
//
// Usage: java -cp <classes>:/usr/share/java/mariadb-java-client.jar Golden '<T2 time>' < input
//
// Input lines (the JDK has no JSON parser): `CONNECT <host> <port> <user> <password> <db>`, then
// per case `CASE <name>` and one `SQL <statement>` per statement, run with a plain Statement
// (text protocol) on a fresh connection per case. Output: {"cases": [[answer, ...], ...],
// "extras": [answer, ...]} with answers as in ../python/golden.py. The extras are, in order:
// DatabaseMetaData.getTables, getColumns and getPrimaryKeys on catalog `_flashback` (the shim's
// information_schema lists captured tables under the virtual schemas), then a server-side
// PreparedStatement (`useServerPrepStmts=true`) reading `_flashback.orders AS OF ?` at the time
// given as the first argument.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

public class Golden {
    private static String url;
    private static String user;
    private static String password;

    public static void main(String[] args) throws Exception {
        String asOf = args[0];
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        List<String> caseNames = new ArrayList<>();
        List<List<String>> cases = new ArrayList<>();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.startsWith("CONNECT ")) {
                String[] p = line.split(" ");
                url = "jdbc:mariadb://" + p[1] + ":" + p[2] + "/" + p[5];
                user = p[3];
                password = p[4];
            } else if (line.startsWith("CASE ")) {
                caseNames.add(line.substring(5));
                cases.add(new ArrayList<>());
            } else if (line.startsWith("SQL ")) {
                cases.get(cases.size() - 1).add(line.substring(4));
            }
        }
        StringBuilder out = new StringBuilder("{\"cases\":[");
        for (int i = 0; i < cases.size(); i++) {
            if (i > 0) out.append(',');
            out.append('[');
            try (Connection conn = DriverManager.getConnection(url, user, password)) {
                List<String> statements = cases.get(i);
                for (int j = 0; j < statements.size(); j++) {
                    if (j > 0) out.append(',');
                    out.append(runStatement(conn, statements.get(j)));
                }
            }
            out.append(']');
        }
        out.append("],\"extras\":[");
        try (Connection conn = DriverManager.getConnection(url, user, password)) {
            DatabaseMetaData meta = conn.getMetaData();
            out.append(metadata(() -> meta.getTables("_flashback", null, "%", null),
                    "TABLE_CAT", "TABLE_NAME", "TABLE_TYPE"));
            out.append(',');
            out.append(metadata(() -> meta.getColumns("_flashback", null, "orders", "%"),
                    "TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "COLUMN_SIZE",
                    "DECIMAL_DIGITS", "NULLABLE", "ORDINAL_POSITION"));
            out.append(',');
            out.append(metadata(() -> meta.getPrimaryKeys("_flashback", null, "order_lines"),
                    "TABLE_CAT", "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME"));
        }
        out.append(',');
        try (Connection conn = DriverManager.getConnection(url + "?useServerPrepStmts=true", user, password);
             PreparedStatement ps = conn.prepareStatement(
                     "SELECT id, customer, status FROM _flashback.orders AS OF ? WHERE id = ?")) {
            ps.setString(1, asOf);
            ps.setInt(2, 1);
            try (ResultSet rs = ps.executeQuery()) {
                out.append(rows(rs));
            }
        } catch (SQLException e) {
            out.append(error(e));
        }
        out.append("]}");
        System.out.print(out);
    }

    interface MetaCall {
        ResultSet call() throws SQLException;
    }

    /** Selected columns of a DatabaseMetaData result, as a rows answer (or its error). */
    private static String metadata(MetaCall call, String... columns) {
        try (ResultSet rs = call.call()) {
            StringBuilder b = new StringBuilder("{\"kind\":\"rows\",\"columns\":[");
            for (int i = 0; i < columns.length; i++) {
                if (i > 0) b.append(',');
                b.append(quote(columns[i]));
            }
            b.append("],\"rows\":[");
            boolean first = true;
            while (rs.next()) {
                if (!first) b.append(',');
                first = false;
                b.append('[');
                for (int i = 0; i < columns.length; i++) {
                    if (i > 0) b.append(',');
                    b.append(quote(rs.getString(columns[i])));
                }
                b.append(']');
            }
            return b.append("]}").toString();
        } catch (SQLException e) {
            return error(e);
        }
    }

    private static String runStatement(Connection conn, String sql) {
        try (Statement st = conn.createStatement()) {
            if (st.execute(sql)) {
                try (ResultSet rs = st.getResultSet()) {
                    return rows(rs);
                }
            }
            return "{\"kind\":\"ok\"}";
        } catch (SQLException e) {
            return error(e);
        }
    }

    private static String rows(ResultSet rs) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        int n = md.getColumnCount();
        StringBuilder b = new StringBuilder("{\"kind\":\"rows\",\"columns\":[");
        for (int i = 1; i <= n; i++) {
            if (i > 1) b.append(',');
            b.append(quote(md.getColumnLabel(i)));
        }
        b.append("],\"rows\":[");
        boolean first = true;
        while (rs.next()) {
            if (!first) b.append(',');
            first = false;
            b.append('[');
            for (int i = 1; i <= n; i++) {
                if (i > 1) b.append(',');
                b.append(quote(rs.getString(i)));
            }
            b.append(']');
        }
        return b.append("]}").toString();
    }

    private static String error(SQLException e) {
        // Connector/J prefixes messages with "(conn=<id>) " and may append the query: keep the
        // server's text only.
        String message = e.getMessage();
        if (message.startsWith("(conn=")) {
            message = message.substring(message.indexOf(") ") + 2);
        }
        int query = message.indexOf("\nQuery is:");
        if (query >= 0) message = message.substring(0, query);
        return "{\"kind\":\"error\",\"code\":" + e.getErrorCode() + ",\"state\":"
                + quote(e.getSQLState() == null ? "" : e.getSQLState()) + ",\"message\":"
                + quote(message) + "}";
    }

    private static String quote(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
