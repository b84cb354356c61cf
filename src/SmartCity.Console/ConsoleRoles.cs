namespace SmartCity.OperatorConsole;

/// <summary>The console's roles, the operator API's three (each includes the ones before it).</summary>
public static class ConsoleRoles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    public static readonly string[] All = [Viewer, Operator, Admin];

    public static bool IsRole(string? role) => role is Viewer or Operator or Admin;

    /// <summary>The roles that satisfy <paramref name="role"/> (an admin may do what an operator may).</summary>
    public static string[] AtLeast(string role) => All[Array.IndexOf(All, role)..];
}
