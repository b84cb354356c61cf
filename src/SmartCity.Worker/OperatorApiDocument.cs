using Microsoft.AspNetCore.Authorization;
using Microsoft.OpenApi;
using SmartCity.Worker.Security;

namespace SmartCity.Worker;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c> (anonymous: it holds no data, and a client
/// needs it before it has a key): every endpoint with its role, the two ways to send a key, and
/// the 401/403/429 answers every protected endpoint can give.
/// </summary>
public static class OperatorApiDocument
{
    public const string BearerScheme = "bearer";
    public const string HeaderScheme = "apiKey";

    public static IServiceCollection AddOperatorApiDocument(this IServiceCollection services) => services.AddOpenApi(o =>
    {
        o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "SmartCity worker: operator API";
            document.Info.Version = "v1";
            document.Info.Description = "Alerts (list, history, acknowledge, resolve, comment), devices, pipeline counters, rejections and profiles. "
                + "Every /api call needs an API key (Authorization: Bearer KEY or X-Api-Key: KEY) of role viewer (read), operator (also acknowledge, "
                + "resolve, comment) or admin (everything). Errors are application/problem+json. See docs/operator-api.md.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "Authorization: Bearer <API key> (a key from Api:Keys).",
            };
            document.Components.SecuritySchemes[HeaderScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyAuthenticationHandler.HeaderName,
                Description = "The same key in the X-Api-Key header.",
            };
            return Task.CompletedTask;
        });

        o.AddOperationTransformer((operation, context, _) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            if (metadata.OfType<IAllowAnonymous>().Any())
            {
                return Task.CompletedTask;
            }

            // The strongest policy on the endpoint (group: viewer; actions: operator; admin endpoints: admin).
            var role = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).Where(ApiRoles.IsRole)
                .OrderBy(p => Array.IndexOf(ApiRoles.All, p)).LastOrDefault() ?? ApiRoles.Viewer;
            operation.Description = $"{operation.Description} Requires role: {role} or above.".TrimStart();
            if (context.Document is { } document)
            {
                operation.Security =
                [
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] },
                    new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(HeaderScheme, document)] = [] },
                ];
            }

            operation.Responses ??= [];
            operation.Responses.TryAdd("401", Problem("No API key, or not a configured one (WWW-Authenticate: Bearer)."));
            operation.Responses.TryAdd("403", Problem($"The key's role is below {role}."));
            var tooMany = Problem("Rate limit of this identity reached (Api:RateLimit).");
            tooMany.Headers = new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = new OpenApiHeader { Description = "Seconds to wait.", Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } },
            };
            operation.Responses.TryAdd("429", tooMany);
            return Task.CompletedTask;
        });
    });

    private static OpenApiResponse Problem(string description) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new OpenApiMediaType() },
    };
}
